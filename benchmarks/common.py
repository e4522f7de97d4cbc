"""Timing, memory and machine facts shared by the benchmarks."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch


def machine_info() -> dict:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def timed(run: Callable[[], object], repeats: int = 3, warmup: int = 1) -> float:
    """Median wall seconds of `run` after warm-up runs."""
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: a child started by a big parent inherits the
    parent's ru_maxrss across exec, which would hide the child's own peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_fresh_process(module: str, *args: str) -> dict:
    """Run `python -m module args` and parse the JSON it prints last; used where peak memory must not mix."""
    result = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def markdown_table(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_results(path: Path, rows: list[dict], notes: list[str], command: str) -> None:
    """`path` (JSON) and the same figures as a Markdown table beside it (`.md`)."""
    machine = machine_info()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine, "command": command, "rows": rows, "notes": notes}, indent=2) + "\n")
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row.get("annotator", ""), []).append(row)
    sections = [f"## {name}\n\n{markdown_table(group)}" for name, group in groups.items()]
    header = f"# {path.stem}\n\nReproduce: `{command}`\n\nMachine: {json.dumps(machine)}\n"
    body = "\n\n".join([header, *sections, "Notes:\n\n" + "\n".join(f"- {n}" for n in notes)])
    path.with_suffix(".md").write_text(body + "\n")
