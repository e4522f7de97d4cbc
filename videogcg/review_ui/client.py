"""A small Label Studio REST client (the endpoints the review round trip needs), with retries.

Ours rather than `label_studio_sdk`, whose dependencies (OpenCV, NLTK, a code generator) do not belong in
the main venv; the tests drive the server through the SDK from Label Studio's own venv, as a reviewer's
tools would.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import httpx

logger = logging.getLogger(__name__)


class LabelStudioError(RuntimeError):
    """A request Label Studio answered with an error; names the endpoint."""


class LabelStudioUnavailable(LabelStudioError):
    """The server could not be reached (or kept failing) after every retry."""


@dataclass
class LabelStudioClient:
    url: str
    token: str
    attempts: int = 5
    backoff: float = 0.5  # seconds before the second attempt, doubled after each failure
    timeout: float = 60.0
    _http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, headers={"Authorization": f"Token {self.token}"}, timeout=self.timeout)

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        delay, reason = self.backoff, ""
        for attempt in range(1, self.attempts + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as error:
                reason = f"{error.__class__.__name__}: {error}"
            else:
                if response.status_code < 500:
                    if response.is_error:
                        raise LabelStudioError(f"{method} {self.url}{path}: HTTP {response.status_code}: {response.text[:300]}")
                    return response
                reason = f"HTTP {response.status_code}"
            if attempt < self.attempts:
                logger.warning("%s %s%s failed (%s); retrying in %.1f s", method, self.url, path, reason, delay)
                time.sleep(delay)
                delay *= 2
        raise LabelStudioUnavailable(f"{method} {self.url}{path}: {reason} (after {self.attempts} attempts)")

    def close(self) -> None:
        self._http.close()

    # -- projects ------------------------------------------------------------------------------------------
    def find_project(self, title: str) -> dict | None:
        page = 1
        while True:
            body = self.request("GET", "/api/projects", params={"page": page, "page_size": 100}).json()
            projects = body["results"] if isinstance(body, dict) else body
            for project in projects:
                if project["title"] == title:
                    return project
            if not isinstance(body, dict) or not body.get("next"):
                return None
            page += 1

    def create_project(self, title: str, label_config: str) -> dict:
        return self.request("POST", "/api/projects", json={"title": title, "label_config": label_config}).json()

    def update_label_config(self, project_id: int, label_config: str) -> None:
        self.request("PATCH", f"/api/projects/{project_id}", json={"label_config": label_config})

    # -- storage and tasks -----------------------------------------------------------------------------------
    def ensure_local_storage(self, project_id: int, path: str) -> None:
        """A local-files storage over `path`, which Label Studio requires before it serves files from there."""
        storages = self.request("GET", "/api/storages/localfiles", params={"project": project_id}).json()
        if any(s.get("path") == path for s in storages):
            return
        self.request(
            "POST",
            "/api/storages/localfiles",
            json={"project": project_id, "path": path, "title": "videogcg frames", "use_blob_urls": False, "regex_filter": ""},
        )

    def import_tasks(self, project_id: int, tasks: list[dict]) -> None:
        if tasks:
            self.request("POST", f"/api/projects/{project_id}/import", json=tasks)

    def predictions(self, task_id: int) -> list[dict]:
        """A task's predictions (pre-annotations) in full; the project export lists only their ids."""
        return self.request("GET", "/api/predictions", params={"task": task_id}).json()

    def all_tasks(self, project_id: int) -> list[dict]:
        """Every task of the project with its annotations and predictions (Label Studio's JSON export)."""
        params = {"exportType": "JSON", "download_all_tasks": "true"}
        return self.request("GET", f"/api/projects/{project_id}/export", params=params).json()
