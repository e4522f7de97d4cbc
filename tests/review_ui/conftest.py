import json
import subprocess
from pathlib import Path

import pytest

from videogcg.pipeline.local_services import free_port
from videogcg.review_ui.client import LabelStudioClient
from videogcg.review_ui.server import LabelStudioServer, load_credentials

LS_VENV = Path(__file__).resolve().parents[2] / ".ls-venv"
REVIEWER = Path(__file__).with_name("reviewer.py")


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory):
    """A real Label Studio from .ls-venv (`make labelstudio-venv`, which `make test` runs), on loopback."""
    if not (LS_VENV / "bin" / "label-studio").exists():
        pytest.fail(f"{LS_VENV} has no Label Studio: run `make labelstudio-venv` (make test does)")
    server = LabelStudioServer(tmp_path_factory.mktemp("label-studio"), port=free_port(), venv=LS_VENV)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(label_studio):
    client = LabelStudioClient(label_studio.url, load_credentials(label_studio.data_dir).token)
    yield client
    client.close()


def sdk(script_input: dict) -> dict:
    """Run tests/review_ui/reviewer.py with Label Studio's own SDK (in .ls-venv), as a reviewer's tool would."""
    done = subprocess.run(
        [str(LS_VENV / "bin" / "python"), str(REVIEWER)], input=json.dumps(script_input), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)
