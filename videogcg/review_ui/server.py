"""A Label Studio server for local use: its own venv, bound to loopback, credentials kept out of the repo.

Label Studio lives in `.ls-venv` (`make labelstudio-venv`), not in the main venv: it pins an older pyarrow.
The server reads its admin user and API token from the environment (`VIDEOGCG_LS_USERNAME`,
`VIDEOGCG_LS_PASSWORD`, `VIDEOGCG_LS_TOKEN`); where they are absent they are generated once into
`<data dir>/credentials.json`, readable only by the user. The token is never logged.

Frames for review are files under `<data dir>/files`, served by Label Studio itself (local file serving,
`/data/local-files/?d=<path below files/>`), so nothing but the server listens, and only on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_PORT = 8089
# Variables Label Studio reads besides its own LABEL_STUDIO_*: a CI machine may set them for other reasons.
_AMBIENT = ("USERNAME", "PASSWORD", "PORT", "HOST")


class ServerError(RuntimeError):
    """The server cannot be started or reached; says where and why."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    token: str


def default_data_dir() -> Path:
    return Path(os.environ.get("VIDEOGCG_LS_DATA", Path.home() / ".local" / "share" / "videogcg" / "label-studio"))


def default_venv() -> Path:
    return Path(os.environ.get("VIDEOGCG_LS_VENV", ".ls-venv"))


def load_credentials(data_dir: Path) -> Credentials:
    """From the environment, else from the credentials file, else newly generated into that file (mode 0600)."""
    env = {key: os.environ.get(f"VIDEOGCG_LS_{key.upper()}") for key in ("username", "password", "token")}
    if all(env.values()):
        return Credentials(**env)
    path = data_dir / "credentials.json"
    if path.exists():
        return Credentials(**json.loads(path.read_text()))
    data_dir.mkdir(parents=True, exist_ok=True)
    credentials = Credentials(
        username=env["username"] or "reviewer@videogcg.local",
        password=env["password"] or secrets.token_urlsafe(18),
        token=env["token"] or secrets.token_hex(20),  # Label Studio's legacy tokens are 40 characters
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(credentials.__dict__, file)
    logger.info("generated Label Studio credentials in %s (readable only by you)", path)
    return credentials


def files_root(data_dir: Path) -> Path:
    return data_dir / "files"


@dataclass
class LabelStudioServer:
    """`start()` launches `label-studio start` bound to 127.0.0.1 and waits for /health; `stop()` ends it."""

    data_dir: Path
    port: int = DEFAULT_PORT
    venv: Path = Path(".ls-venv")
    startup_timeout: float = 180.0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def environment(self, credentials: Credentials) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _AMBIENT}
        env.update(
            LABEL_STUDIO_USERNAME=credentials.username,
            LABEL_STUDIO_PASSWORD=credentials.password,
            LABEL_STUDIO_USER_TOKEN=credentials.token,
            LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
            LABEL_STUDIO_BASE_DATA_DIR=str(self.data_dir / "server"),
            LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED="true",
            LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(files_root(self.data_dir)),
            LATEST_VERSION_CHECK="false",
            COLLECT_ANALYTICS="false",
        )
        return env

    def start(self) -> str:
        executable = self.venv / "bin" / "label-studio"
        if not executable.exists():
            raise ServerError(f"{executable} not found: install Label Studio with `make labelstudio-venv`")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        files_root(self.data_dir).mkdir(parents=True, exist_ok=True)
        credentials = load_credentials(self.data_dir)
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - the server writes to it while it runs
        command = [str(executable), "start", "--no-browser", "--internal-host", HOST, "--port", str(self.port)]
        self.process = subprocess.Popen(command, env=self.environment(credentials), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.wait_healthy()
        logger.info("Label Studio is up at %s (data in %s)", self.url, self.data_dir)
        return self.url

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerError(f"Label Studio exited with code {self.process.returncode}; see {self.data_dir / 'server.log'}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        self.stop()
        raise ServerError(
            f"Label Studio did not answer {self.url}/health within {self.startup_timeout:.0f} s; see {self.data_dir / 'server.log'}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
