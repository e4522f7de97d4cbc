"""Comparing what two runs wrote, wherever they wrote it (local folders or object-store URLs), and interrupting one."""

import signal
import subprocess
import time

from videogcg.pipeline.run_report import read_records
from videogcg.shards import iter_dataset, read_manifest


def without(value, fields: tuple[str, ...]):
    """A sample's JSON without some fields (at any depth)."""
    if isinstance(value, dict):
        return {k: without(v, fields) for k, v in value.items() if k not in fields}
    if isinstance(value, list):
        return [without(v, fields) for v in value]
    return value


def assert_same_run_output(actual, expected, ignore: tuple[str, ...] = ("created_at",)) -> dict:
    """The same sample keys, sample JSON (but for `ignore`: by default, when it was made), manifest rows and
    dead letters; returns the samples by key."""
    samples = {s.key: s for s in iter_dataset(actual, decode=False)}
    wanted = {s.key: s for s in iter_dataset(expected, decode=False)}
    assert sorted(samples) == sorted(wanted) and samples
    for key, sample in samples.items():
        assert without(sample.model_dump(mode="json"), ignore) == without(wanted[key].model_dump(mode="json"), ignore), key
    rows = sorted(read_manifest(actual).to_pylist(), key=lambda r: r["key"])
    assert rows == sorted(read_manifest(expected).to_pylist(), key=lambda r: r["key"])
    assert read_records(actual) == read_records(expected)
    return samples


def kill_mid_run(command: list[str], seconds: float) -> None:
    """Start a `videogcg run` command and SIGKILL it after `seconds` (imports and model loading take longer than
    that, so the kill lands mid-run); fails if the run finished first, as nothing would have been tested."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    assert process.poll() is None, "the run finished before it could be killed; nothing was tested"
    process.send_signal(signal.SIGKILL)
    process.wait()
