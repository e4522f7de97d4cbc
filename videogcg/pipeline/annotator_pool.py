"""The annotators of one worker process, shared by its Beam threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import contextmanager


class AnnotatorPool:
    """Annotators built on first use, shared by the processors of one worker process (one per Beam thread): each
    model is loaded once per process rather than once per DoFn instance. Annotators load their weights on first
    call and keep per-call state (tokenizer padding side, seeds), so the threads take turns: `exclusive()` is
    held around a video's whole annotate step, which also makes a second thread wait for the first one's load."""

    def __init__(self):
        self._built: dict = {}
        self._lock = threading.RLock()
        self.holder: int | None = None  # the thread using the models, while one is

    def get(self, name: str, build: Callable[[], object]):
        with self._lock:
            if name not in self._built:
                self._built[name] = build()
            return self._built[name]

    @contextmanager
    def exclusive(self):
        with self._lock:
            outer, self.holder = self.holder, threading.get_ident()
            try:
                yield
            finally:
                self.holder = outer
