"""The worker image definition stays in step with the versions the project pins (it cannot be built here:
there is no docker daemon), so a cluster runs what the tests ran."""

import re
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "docker" / "worker.Dockerfile").read_text()


def test_the_sdk_image_is_of_the_installed_beam_version():
    assert re.search(r"^ARG BEAM_VERSION=(\S+)$", DOCKERFILE, re.M).group(1) == version("apache-beam")
    assert "FROM apache/beam_python3.11_sdk:${BEAM_VERSION}" in DOCKERFILE


def test_torch_is_the_pinned_version_and_stays_pinned_for_the_project():
    pinned = re.search(r"^torch==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M).group(1)
    assert f"torch=={pinned} --index-url" in DOCKERFILE
    assert "pip install --no-cache-dir . -c constraints.txt" in DOCKERFILE  # the project cannot replace the CUDA torch
    assert "! pip show torchvision" in DOCKERFILE


def test_the_files_the_image_copies_exist():
    for source in re.findall(r"^COPY (.+) \S+$", DOCKERFILE, re.M):
        for name in source.replace("${MODEL_CACHE}", "docker/empty-model-cache").split():
            assert (ROOT / name).exists(), name
