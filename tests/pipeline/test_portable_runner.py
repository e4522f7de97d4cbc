"""The path cluster runners (Flink, Spark, Dataflow v2) take: Beam's job service plus separate SDK worker
processes, the pipeline serialized and its DoFns set up in other processes. Everything on loopback."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from videogcg.pipeline.beam_pipeline import run_pipeline
from videogcg.pipeline.run_report import read_records
from videogcg.pipeline.settings import PipelineConfig
from videogcg.pipeline.source_registry import SourceSpec
from videogcg.shards import iter_dataset


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port} after {seconds} s")


@pytest.fixture(scope="module")
def beam_services():
    job_port, worker_port = free_port(), free_port()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # workers need this venv's python
    commands = [
        [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main", "--port", str(job_port)],
        [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", "--service_port", str(worker_port)],
    ]
    processes = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in commands]
    try:
        for port, process in zip((job_port, worker_port), processes):
            wait_for(port, process)
        yield [
            "--runner=PortableRunner",
            f"--job_endpoint=localhost:{job_port}",
            "--environment_type=EXTERNAL",
            f"--environment_config=localhost:{worker_port}",
        ]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def test_pipeline_on_the_portable_runner_with_separate_workers(sources, beam_services, tmp_path_factory, tmp_path):
    cache = tmp_path_factory.mktemp("models")
    config = PipelineConfig.load(overrides=[f"models.cache_dir={cache}", "sampling.num_frames=4", "models.refine_captions=false"])
    summary = run_pipeline(SourceSpec("boxes_captions", str(sources["boxes_captions"])), tmp_path, config, beam_services)
    assert summary["failed"] == 0 and summary["samples"] + summary["routes"]["drop"] == 4
    samples = list(iter_dataset(tmp_path, decode=False))
    assert all(t.provenance.name == "tiny:sam2_video" for s in samples for t in s.objects)  # models loaded in the SDK workers
    assert [r for r in read_records(tmp_path) if r["kind"] == "failure"] == []
