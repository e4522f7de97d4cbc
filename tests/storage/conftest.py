"""A local S3-compatible server (moto_server on 127.0.0.1) for the object-storage tests."""

import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from videogcg import storage
from videogcg.pipeline.local_services import free_port


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str

    @property
    def beam_args(self) -> list[str]:
        """The Beam options that point FileSystems' s3:// at this server."""
        return [
            f"--s3_endpoint_url={self.endpoint}",
            "--s3_access_key_id=testing",
            "--s3_secret_access_key=testing",
            "--s3_region_name=us-east-1",
        ]

    def use(self) -> None:
        """Point this process's FileSystems at the server (each run sets them from its own options)."""
        storage.configure(PipelineOptions(self.beam_args))

    def client(self):
        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def upload(self, folder: Path, prefix: str) -> str:
        """Copy a local folder under s3://bucket/prefix; returns that URL."""
        client = self.client()
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            client.upload_file(str(file), self.bucket, f"{prefix}/{file.relative_to(folder).as_posix()}")
        return f"s3://{self.bucket}/{prefix}"


@pytest.fixture(scope="session")
def s3_server():
    """moto_server on a free loopback port, one bucket; stopped after the session."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"moto_server did not answer on {endpoint}") from None
            time.sleep(0.2)
    s3 = S3Server(endpoint, "videogcg-test")
    s3.client().create_bucket(Bucket=s3.bucket)
    yield s3
    server.terminate()
    server.wait(timeout=10)
