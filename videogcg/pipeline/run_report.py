"""What a run leaves next to its shards: failures as data, and per-run stats."""

from __future__ import annotations

import json
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

FAILURES_FILE = "failures.jsonl"
STATS_FILE = "run_stats.json"


@dataclass(frozen=True)
class Failure:
    """One input that did not become a sample, and why."""

    source: str
    video_id: str
    stage: str
    error: str  # exception class name
    message: str


@dataclass
class RunStats:
    inputs: int = 0
    written: int = 0
    failures: list[Failure] = field(default_factory=list)
    shards: list[str] = field(default_factory=list)
    stage_seconds: Counter = field(default_factory=Counter)
    started: float = field(default_factory=time.time)

    @contextmanager
    def timed(self, stage: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds[stage] += time.perf_counter() - start

    def summary(self) -> dict:
        return {
            "inputs": self.inputs,
            "written": self.written,
            "failed": len(self.failures),
            "failures_by_reason": dict(Counter(f"{f.stage}: {f.error}" for f in self.failures)),
            "shards": self.shards,
            "stage_seconds": {k: round(v, 3) for k, v in sorted(self.stage_seconds.items())},
            "wall_seconds": round(time.time() - self.started, 3),
        }

    def save(self, directory: Path) -> None:
        with open(directory / FAILURES_FILE, "w") as f:
            for failure in self.failures:
                f.write(json.dumps(asdict(failure)) + "\n")
        (directory / STATS_FILE).write_text(json.dumps(self.summary(), indent=2))


def read_failures(directory: str | Path) -> list[Failure]:
    path = Path(directory) / FAILURES_FILE
    if not path.exists():
        return []
    return [Failure(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
