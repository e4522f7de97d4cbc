"""Reading and writing video: H.264 encoding through PyAV, decoding through decord; folders of frame images
(the JPEGImages layout of YouTube-VIS, MeViS and Ref-YouTube-VOS) read with PIL.

decord decodes sequentially much faster than it seeks, so `read_frames` reads a whole clip in one pass
when the requested frames are dense and seeks only for sparse ones. decord 0.6 fails to copy frames of a
few widths (16, 24, 48, 72 px among them: "DECORDArrayCopyFromTo: The size must exactly match"); those
videos are decoded with PyAV instead.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import decord
import numpy as np
from PIL import Image

from videogcg import storage
from videogcg.storage import ObjectPath

logger = logging.getLogger(__name__)

# Fraction of a video's frames above which one sequential pass beats seeking to each frame.
_SEQUENTIAL_THRESHOLD = 0.2


class VideoReadError(Exception):
    """A video that cannot be opened or decoded; names the file."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
# Frame folders carry no timing; YouTube-VIS-style folders hold every 5th frame of 30 fps video.
FRAME_FOLDER_FPS = 6.0


VideoSource = str | Path | ObjectPath | bytes


@contextmanager
def open_image(path: Path | ObjectPath) -> Iterator[Image.Image]:
    """A frame image, local or in object storage."""
    with path.open("rb") as file, Image.open(file) as image:
        yield image


def _folder(source: VideoSource) -> Path | ObjectPath | None:
    """The frame folder `source` names, if it names one."""
    if isinstance(source, ObjectPath):
        return source if source.is_dir() else None
    return Path(source) if isinstance(source, (str, Path)) and Path(source).is_dir() else None


def _in_memory(source: VideoSource, name: str | None) -> tuple[VideoSource, str | None]:
    """An object-store video as bytes (decord and PyAV decode from memory), named by its URL."""
    if isinstance(source, ObjectPath):
        return source.read_bytes(), name or str(source)
    return source, name


def frame_files(folder: Path | ObjectPath) -> list[Path | ObjectPath]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise VideoReadError(str(folder), f"folder holds no frame images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def _read_image(path: Path | ObjectPath) -> np.ndarray:
    try:
        with open_image(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError) as error:
        raise VideoReadError(str(path), f"cannot be read as an image ({error})") from None


def _read_folder(folder: Path | ObjectPath, indices: list[int] | None) -> np.ndarray:
    files = frame_files(folder)
    wanted = list(range(len(files))) if indices is None else list(indices)
    for index in wanted:
        if not 0 <= index < len(files):
            raise VideoReadError(str(folder), f"frame {index} requested, folder has {len(files)} frames")
    frames = [_read_image(files[i]) for i in wanted]
    for i, frame in zip(wanted, frames):
        if frame.shape != frames[0].shape:
            raise VideoReadError(str(files[i]), f"frame size {frame.shape[1]}x{frame.shape[0]} differs from the folder's first")
    return np.stack(frames)


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    num_frames: int
    width: int
    height: int


def _open(source: str | Path | bytes, name: str) -> decord.VideoReader:
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise VideoReadError(name, "file does not exist")
        if path.stat().st_size == 0:
            raise VideoReadError(name, "file is empty (0 bytes)")
        source = str(path)
    elif len(source) == 0:
        raise VideoReadError(name, "video bytes are empty")
    else:
        source = io.BytesIO(source)
    try:
        reader = decord.VideoReader(source, ctx=decord.cpu(0), num_threads=1)
    except (decord.DECORDError, RuntimeError) as error:
        raise VideoReadError(name, f"cannot be decoded ({str(error).splitlines()[0]})") from None
    if len(reader) == 0:
        raise VideoReadError(name, "has no frames")
    return reader


def _name(source: str | Path | bytes, name: str | None) -> str:
    return name or (str(source) if isinstance(source, (str, Path)) else "<video bytes>")


def container_info(source: Path | ObjectPath) -> VideoInfo:
    """A video's frame count, rate and size from its container header (or a frame folder's listing and first
    image header), without decoding a frame."""
    folder = _folder(source)
    if folder is not None:
        files = frame_files(folder)
        with open_image(files[0]) as image:
            width, height = image.size
        return VideoInfo(fps=FRAME_FOLDER_FPS, num_frames=len(files), width=width, height=height)
    name = str(source)
    try:  # an object is streamed: the demuxer reads the header by ranges, not the whole file
        with av.open(storage.open_read(source) if isinstance(source, ObjectPath) else name) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or 0)
            frames = stream.frames
            if not frames and stream.duration:  # containers without a frame count (some webm, mkv): from the duration
                frames = round(float(stream.duration * stream.time_base) * fps)
            return VideoInfo(fps=fps, num_frames=int(frames), width=stream.codec_context.width, height=stream.codec_context.height)
    except (av.FFmpegError, IndexError) as error:
        raise VideoReadError(name, f"no readable video stream ({error})") from None


def probe(source: VideoSource, name: str | None = None) -> VideoInfo:
    folder = _folder(source)
    if folder is not None:
        files = frame_files(folder)
        height, width = _read_image(files[0]).shape[:2]
        return VideoInfo(fps=FRAME_FOLDER_FPS, num_frames=len(files), width=width, height=height)
    source, name = _in_memory(source, name)
    reader = _open(source, _name(source, name))
    height, width = reader[0].shape[:2]
    return VideoInfo(fps=float(reader.get_avg_fps()), num_frames=len(reader), width=width, height=height)


def read_frames(source: VideoSource, indices: list[int] | None = None, name: str | None = None) -> np.ndarray:
    """Decode frames as a (T, H, W, 3) uint8 RGB array: all frames, or the given indices in order.

    `source` is a video file, mp4 bytes, or a folder of frame images; files and folders may be in object storage.
    """
    folder = _folder(source)
    if folder is not None:
        return _read_folder(folder, indices)
    source, name = _in_memory(source, name)
    name = _name(source, name)
    reader = _open(source, name)
    total = len(reader)
    wanted = list(range(total)) if indices is None else list(indices)
    for index in wanted:
        if not 0 <= index < total:
            raise VideoReadError(name, f"frame {index} requested, video has {total} frames")
    try:
        if wanted and len(wanted) >= _SEQUENTIAL_THRESHOLD * total:
            return _read_sequentially(reader, wanted)
        return reader.get_batch(wanted).asnumpy()
    except (decord.DECORDError, RuntimeError) as error:
        logger.warning("%s: decord failed (%s); decoding with PyAV", name, str(error).splitlines()[0])
    return _read_frames_pyav(source, wanted, name)


def _read_sequentially(reader: decord.VideoReader, wanted: list[int], chunk: int = 32) -> np.ndarray:
    """Decode in order, a chunk of frames at a time, keeping only the wanted ones (memory: one chunk, not the video)."""
    kept: dict[int, np.ndarray] = {}
    wanted_set = set(wanted)
    for start in range(0, max(wanted) + 1, chunk):
        indices = list(range(start, min(start + chunk, max(wanted) + 1)))
        if wanted_set.isdisjoint(indices):
            continue
        batch = reader.get_batch(indices).asnumpy()
        kept.update((i, batch[i - start]) for i in indices if i in wanted_set)
    return np.stack([kept[i] for i in wanted])


def _read_frames_pyav(source: str | Path | bytes, wanted: list[int], name: str) -> np.ndarray:
    wanted_set = set(wanted)
    frames: dict[int, np.ndarray] = {}
    try:
        with av.open(io.BytesIO(source) if isinstance(source, bytes) else str(source)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index in wanted_set:
                    frames[index] = frame.to_ndarray(format="rgb24")
                if len(frames) == len(wanted_set):
                    break
    except av.FFmpegError as error:
        raise VideoReadError(name, f"decoding failed ({error})") from None
    missing = sorted(wanted_set - frames.keys())
    if missing:
        raise VideoReadError(name, f"frames {missing[:5]} could not be decoded")
    return np.stack([frames[i] for i in wanted])


def _even(frames: np.ndarray) -> np.ndarray:
    """H.264 in yuv420p needs even sides: repeat the last row/column where a side is odd."""
    _, height, width, _ = frames.shape
    pad = ((0, 0), (0, height % 2), (0, width % 2), (0, 0))
    return np.pad(frames, pad, mode="edge") if any(p[1] for p in pad) else frames


def encode_mp4(frames: np.ndarray, fps: float, crf: int = 18) -> bytes:
    """Encode (T, H, W, 3) uint8 RGB frames as H.264 mp4 bytes. Odd sizes are padded by one pixel."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected (T, H, W, 3) uint8 frames, got {frames.shape} {frames.dtype}")
    if len(frames) == 0:
        raise ValueError("cannot encode a video with no frames")
    frames = _even(frames)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return buffer.getvalue()


def write_mp4(path: str | Path, frames: np.ndarray, fps: float, crf: int = 18) -> None:
    Path(path).write_bytes(encode_mp4(frames, fps, crf))
