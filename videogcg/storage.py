"""Where a run reads and writes: local paths and object-store URLs (``s3://``, ``gs://``, ``hdfs://``) alike,
through Beam's `FileSystems`, so the same command works on a laptop and on a cluster.

Object stores have neither folders nor an atomic rename. Files a reader must never see half-written are
therefore published: written under a temporary name, then renamed (copy + delete on object stores, whose
copy is one object write, visible only when complete). Readers take the final name as the commit.

`path` gives sources a pathlib-like handle either way: `pathlib.Path` for local paths (so decoders read the
file directly) and `ObjectPath` for URLs.
"""

from __future__ import annotations

import fnmatch
import io
import logging
import os
import posixpath
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".partial"
_COPY_CHUNK = 16 << 20


def is_remote(path: str | Path) -> bool:
    """True for a URL with a scheme other than file://."""
    scheme, sep, _ = str(path).partition("://")
    return bool(sep) and scheme != "file" and "/" not in scheme


def _filesystems():
    """Beam's FileSystems, imported on first use: importing Beam takes about a second, which the many readers
    of local files (training loaders, the CLI) need not pay."""
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


_FILESYSTEMS = {}  # by scheme: FileSystems makes a new one (for S3, a new boto3 client, ~0.2 s) on every call


def _filesystem(path: str | Path):
    scheme = str(path).partition("://")[0] if is_remote(path) else "file"
    if scheme not in _FILESYSTEMS:
        filesystems = _filesystems()
        if getattr(filesystems, "_pipeline_options", None) is None:
            # not configured by a run (inspect, train, plan, ...): the stores' defaults, i.e. credentials and
            # endpoints from the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...)
            from apache_beam.options.pipeline_options import PipelineOptions

            filesystems.set_options(PipelineOptions([]))
        _FILESYSTEMS[scheme] = filesystems.get_filesystem(str(path))
    return _FILESYSTEMS[scheme]


def _s3io(path: str | Path):
    """One S3 client for reads and existence checks, the hot path of frame folders: Beam's S3FileSystem builds
    a new client per call (0.17 s each here against 0.01 s for the read itself)."""
    if not str(path).startswith("s3://"):
        return None
    if "s3io" not in _FILESYSTEMS:
        from apache_beam.io.aws.s3io import S3IO

        _FILESYSTEMS["s3io"] = S3IO(options=_filesystem(path)._options)
    return _FILESYSTEMS["s3io"]


def _uncompressed():
    from apache_beam.io.filesystem import CompressionTypes

    return CompressionTypes.UNCOMPRESSED


def configure(options) -> None:
    """Give FileSystems the run's `PipelineOptions` (e.g. ``--s3_endpoint_url``) in this process; Beam gives
    them to its workers."""
    _filesystems().set_options(options)
    _FILESYSTEMS.clear()


def join(base: str | Path, *parts: str) -> str:
    return _filesystem(base).join(str(base), *parts) if is_remote(base) else str(Path(base).joinpath(*parts))


def name(path: str | Path) -> str:
    return posixpath.basename(str(path).rstrip("/"))


def exists(path: str | Path) -> bool:
    client = _s3io(path)
    return client.exists(str(path)) if client else _filesystem(path).exists(str(path))


def open_read(path: str | Path):
    client = _s3io(path)
    return client.open(str(path), "rb") if client else _filesystem(path).open(str(path), compression_type=_uncompressed())


def read_bytes(path: str | Path) -> bytes:
    with open_read(path) as file:
        return file.read()


def read_text(path: str | Path) -> str:
    return read_bytes(path).decode("utf-8")


def mkdirs(directory: str | Path) -> None:
    """Create a local folder (and parents); object stores have no folders, so nothing to do there."""
    if not is_remote(directory):
        Path(directory).mkdir(parents=True, exist_ok=True)


def list_files(directory: str | Path, pattern: str = "*") -> list[str]:
    """Files directly in `directory` whose names match `pattern`, sorted by name. (A local folder is listed
    directly, so that a folder name with glob characters is taken literally.)"""
    if not is_remote(directory):
        folder = Path(directory)
        files = (
            [str(folder / e.name) for e in os.scandir(folder) if e.is_file() and fnmatch.fnmatch(e.name, pattern)]
            if folder.is_dir()
            else []
        )
        return sorted(files, key=name)
    matches = _filesystem(directory).match([join(directory, pattern)])[0].metadata_list
    return sorted((m.path for m in matches), key=name)


def match(pattern: str) -> list[str]:
    """Files matching a URL glob (``*`` within a folder, ``**`` across folders), sorted."""
    return sorted(m.path for m in _filesystem(pattern).match([pattern])[0].metadata_list)


def delete(paths: list[str]) -> None:
    """Delete files; those already gone are fine."""
    present = [p for p in paths if exists(p)]
    if present:
        _filesystem(present[0]).delete(present)


def _parent(path: str) -> str:
    return posixpath.dirname(path) if is_remote(path) else str(Path(path).parent)


def _temporary(path: str) -> str:
    """The name a file has while being written: fixed, so a rerun after an interruption overwrites what was left."""
    return path + PARTIAL_SUFFIX


def _commit(temporary: str, path: str) -> None:
    if is_remote(path):
        _filesystem(path).rename([temporary], [path])  # copy (which overwrites) + delete
    else:
        Path(temporary).replace(path)


def publish_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` so that no reader ever sees it partly written."""
    path = str(path)
    if not data and is_remote(path):
        raise ValueError(f"{path}: Beam's object-store writers cannot write an empty file")
    mkdirs(_parent(path))
    temporary = _temporary(path)
    with _filesystem(temporary).create(temporary, compression_type=_uncompressed()) as file:
        file.write(data)
    _commit(temporary, path)


def publish_text(path: str | Path, text: str) -> None:
    publish_bytes(path, text.encode("utf-8"))


def publish_file(local_file: str | Path, path: str | Path) -> None:
    """Move a finished local file to `path` (local or remote) under the same guarantee; the local file is gone after."""
    path, local_file = str(path), Path(local_file)
    if not is_remote(path) and local_file.parent.resolve() == Path(path).parent.resolve():
        local_file.replace(path)  # same folder: the rename alone
        return
    mkdirs(_parent(path))
    temporary = _temporary(path)
    with local_file.open("rb") as source, _filesystem(temporary).create(temporary, compression_type=_uncompressed()) as target:
        shutil.copyfileobj(source, target, _COPY_CHUNK)
    _commit(temporary, path)
    local_file.unlink()


def path(location: str | Path | ObjectPath) -> Path | ObjectPath:
    if isinstance(location, (Path, ObjectPath)):
        return location
    return ObjectPath(location) if is_remote(location) else Path(location)


class ObjectPath:
    """The part of `pathlib.Path` the source readers use, for an object-store URL. Folders are key prefixes."""

    def __init__(self, url: str, is_file: bool | None = None):
        """`is_file`: known from a listing (saves a request per file when walking a folder)."""
        scheme, _, rest = url.partition("://")
        self.scheme = scheme
        self._key = posixpath.normpath("/" + rest.strip("/")) if rest.strip("/") else "/"
        self._is_file = is_file

    def __str__(self) -> str:
        return f"{self.scheme}:/{self._key}"

    def __repr__(self) -> str:
        return f"ObjectPath({str(self)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, ObjectPath) and str(self) == str(other)

    def __lt__(self, other: ObjectPath) -> bool:
        return str(self) < str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __truediv__(self, part: str) -> ObjectPath:
        return ObjectPath(f"{self}/{part}")

    @property
    def name(self) -> str:
        return posixpath.basename(self._key)

    @property
    def suffix(self) -> str:
        return posixpath.splitext(self.name)[1]

    @property
    def stem(self) -> str:
        return posixpath.splitext(self.name)[0]

    @property
    def parent(self) -> ObjectPath:
        return ObjectPath(f"{self.scheme}:/{posixpath.dirname(self._key)}")

    def with_suffix(self, suffix: str) -> ObjectPath:
        return self.parent / (self.stem + suffix)

    def relative_to(self, other: ObjectPath) -> Path:
        return Path(posixpath.relpath(self._key, other._key))

    def as_posix(self) -> str:
        return str(self)

    def resolve(self) -> ObjectPath:
        return self

    def is_absolute(self) -> bool:
        return True

    def is_file(self) -> bool:
        return exists(str(self)) if self._is_file is None else self._is_file

    def exists(self) -> bool:
        return self.is_file() or self.is_dir()

    def is_dir(self) -> bool:
        return bool(self._under())

    def _under(self) -> list[str]:
        """Every object below this prefix (recursively)."""
        return [m.path for m in _filesystem(str(self)).match([f"{self}/**"])[0].metadata_list]

    def iterdir(self):
        prefix = f"{self}/"
        children = {}
        for p in self._under():
            child, _, deeper = p[len(prefix) :].partition("/")
            children[prefix + child] = children.get(prefix + child, False) or not deeper
        return iter(sorted(ObjectPath(c, is_file) for c, is_file in children.items()))

    def rglob(self, pattern: str):
        return iter(sorted(ObjectPath(p, True) for p in self._under() if fnmatch.fnmatch(name(p), pattern)))

    def read_bytes(self) -> bytes:
        return read_bytes(str(self))

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def open(self, mode: str = "r", newline: str | None = None, encoding: str | None = "utf-8"):
        if mode not in ("r", "rb"):
            raise ValueError(f"{self}: objects are opened for reading only, not {mode!r}")
        data = io.BytesIO(self.read_bytes())
        return data if mode == "rb" else io.TextIOWrapper(data, encoding=encoding, newline=newline)
