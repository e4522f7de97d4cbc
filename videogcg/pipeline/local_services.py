"""Beam's portable runner path on one machine: a job service and a pool of SDK worker processes on
127.0.0.1, as a Flink, Spark or Dataflow (runner v2) cluster runs a pipeline: serialized, with every DoFn
set up in another process.

    python -m videogcg.pipeline.local_services -- videogcg run --input ... --output ...

starts both services, runs the command with the portable-runner options appended, and stops them.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port nothing listens on right now, on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{' '.join(process.args)} exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port} after {seconds} s")


@contextmanager
def portable_services(start_timeout: float = 60) -> Iterator[list[str]]:
    """Start a job service and an SDK worker pool; yield the Beam options that run a pipeline on them."""
    job_port, worker_port = free_port(), free_port()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")  # workers need this python
    commands = [
        [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main", "--port", str(job_port)],
        [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", "--service_port", str(worker_port)],
    ]
    processes = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in commands]
    try:
        for port, process in zip((job_port, worker_port), processes):
            _wait_for(port, process, start_timeout)
        logger.info("Beam job service on 127.0.0.1:%d, SDK worker pool on 127.0.0.1:%d", job_port, worker_port)
        yield [
            "--runner=PortableRunner",
            f"--job_endpoint=localhost:{job_port}",
            "--environment_type=EXTERNAL",
            f"--environment_config=localhost:{worker_port}",
        ]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        sys.stderr.write(__doc__ or "")
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with portable_services() as options:
        return subprocess.run([*command, *options]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
