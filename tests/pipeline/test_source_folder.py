"""Unlabelled sources: a folder or glob of videos, and CSV / JSON Lines / Parquet manifests."""

import csv
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from videogcg.pipeline.sources.base import SourceError, SourceKind
from videogcg.pipeline.sources.folder import ManifestSource, VideoFolderSource
from videogcg.synthetic import random_scene, render
from videogcg.video_io import encode_mp4

NUM_FRAMES = 12


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """videos/a.mp4, videos/sub/b.webm, videos/sub/deeper/c.MP4 and a file that is not a video."""
    root = tmp_path_factory.mktemp("folder") / "videos"
    scene = render(random_scene(np.random.default_rng(0), "scene", width=64, height=48, num_frames=NUM_FRAMES))
    data = encode_mp4(scene.frames, scene.spec.fps)
    for name in ("a.mp4", "sub/b.webm", "sub/deeper/c.MP4"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "sub" / "notes.txt").write_text("not a video")
    return root


def test_folder_lists_every_video_recursively_with_relative_ids(videos):
    source = VideoFolderSource(videos)
    assert source.name == "videos"
    assert source.video_ids() == ["a", "sub/b", "sub/deeper/c"]
    video = source.load("sub/deeper/c")
    assert (video.source, video.video_id, video.path) == ("videos", "sub/deeper/c", videos / "sub" / "deeper" / "c.MP4")
    assert video.kind is SourceKind.RAW
    assert (video.objects, video.captions, video.expressions, video.clip) == ((), (), (), None)


def test_glob_ids_are_relative_to_the_pattern_root(videos):
    source = VideoFolderSource(str(videos / "**" / "*.mp4"), name="clips")
    assert source.name == "clips"
    assert source.video_ids() == ["a"]  # the glob is case-sensitive: c.MP4 does not match
    assert VideoFolderSource(str(videos / "sub" / "*")).video_ids() == ["b"]  # notes.txt is not a video
    assert VideoFolderSource(str(videos / "sub" / "**" / "*")).video_ids() == ["b", "deeper/c"]


def test_folder_errors(videos, tmp_path):
    with pytest.raises(SourceError) as error:
        VideoFolderSource(tmp_path / "missing")
    assert error.value.field == "<folder>" and error.value.path == str(tmp_path / "missing")
    with pytest.raises(SourceError) as error:
        VideoFolderSource(str(videos / "*.avi"))
    assert error.value.field == "<files>"
    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / "a.mkv").write_bytes(b"x")
    with pytest.raises(SourceError) as error:
        VideoFolderSource(tmp_path)
    assert error.value.field == "video_id" and "'a'" in error.value.message


ROWS = [
    {"path": "videos/a.mp4", "video_id": "clip-a", "caption": "A shape moves.", "start_frame": 2, "end_frame": 8},
    {"path": "videos/sub/b.webm"},
    {"path": "videos/sub/deeper/c.MP4", "start_frame": 4},
    {"path": "videos/sub/deeper/c.MP4", "video_id": "c-head", "end_frame": 5},
]


def write_manifest(path, rows):
    """The rows in the format the suffix names: absent cells are empty (CSV), missing keys (JSONL) or null (Parquet)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    if path.suffix == ".csv":
        with path.open("w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    else:
        pq.write_table(pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows]), path)
    return path


FORMATS = ["csv", "jsonl", "parquet"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_manifest_rows_become_videos(videos, fmt):
    rows = [*ROWS, {"path": str(videos / "sub" / "b.webm"), "video_id": "b-absolute"}]
    source = ManifestSource(write_manifest(videos.parent / f"list.{fmt}", rows))
    assert source.name == "list"
    assert source.video_ids() == sorted(["clip-a", "videos/sub/b", "videos/sub/deeper/c", "c-head", "b-absolute"])
    a = source.load("clip-a")
    assert (a.source, a.path, a.clip) == ("list", videos / "a.mp4", (2, 8))
    assert [c.text for c in a.captions] == ["A shape moves."] and a.captions[0].phrases == ()
    assert a.kind is SourceKind.BOXES_CAPTIONS
    b = source.load("videos/sub/b")
    assert (b.path, b.clip, b.captions, b.kind) == (videos / "sub" / "b.webm", None, (), SourceKind.RAW)
    assert source.load("videos/sub/deeper/c").clip == (4, NUM_FRAMES)  # end read from the video
    assert source.load("c-head").clip == (0, 5)
    assert source.load("b-absolute").path == videos / "sub" / "b.webm"


@pytest.mark.parametrize("fmt", FORMATS)
def test_manifest_without_path_column(tmp_path, fmt):
    path = write_manifest(tmp_path / f"m.{fmt}", [{"video_id": "x", "caption": "c"}])
    with pytest.raises(SourceError) as error:
        ManifestSource(path)
    assert error.value.path == str(path) and error.value.field == "path"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"path": "videos/a.mp4", "start_frame": "two"}, "row 2.start_frame"),
        ({"path": "videos/a.mp4", "end_frame": "-3"}, "row 2.end_frame"),
        ({"path": "videos/a.mp4", "start_frame": "6", "end_frame": "6"}, "row 2.end_frame"),
        ({"path": "videos/missing.mp4"}, "row 2.path"),
    ],
)
def test_manifest_bad_row_fails_on_load_naming_row_and_column(videos, fmt, row, field):
    rows = [{"path": "videos/a.mp4", "video_id": "good"}, {"video_id": "bad", **row}]
    path = write_manifest(videos.parent / f"bad.{fmt}", rows)
    source = ManifestSource(path)
    assert source.load("good").path == videos / "a.mp4"
    with pytest.raises(SourceError) as error:
        source.load("bad")
    assert error.value.path == str(path) and error.value.field == field


@pytest.mark.parametrize("fmt", FORMATS)
def test_manifest_rows_without_id_or_with_duplicate_ids_fail_when_opened(tmp_path, fmt):
    path = write_manifest(tmp_path / f"m.{fmt}", [{"path": "a.mp4", "video_id": "x"}, {"path": "", "video_id": ""}])
    with pytest.raises(SourceError) as error:
        ManifestSource(path)
    assert error.value.field == "row 2.path"
    path = write_manifest(tmp_path / f"d.{fmt}", [{"path": "a.mp4"}, {"path": "b.mp4"}, {"path": "a.mkv"}])
    with pytest.raises(SourceError) as error:
        ManifestSource(path)
    assert error.value.field == "row 3.video_id" and "row 1" in error.value.message


def test_manifest_unreadable_files(tmp_path):
    with pytest.raises(SourceError) as error:
        ManifestSource(tmp_path / "none.csv")
    assert error.value.field == "<file>"
    (tmp_path / "m.txt").write_text("path\na.mp4\n")
    with pytest.raises(SourceError) as error:
        ManifestSource(tmp_path / "m.txt")
    assert error.value.field == "<file>"
    (tmp_path / "m.jsonl").write_text('{"path": "a.mp4"}\n{"path": \n')
    with pytest.raises(SourceError) as error:
        ManifestSource(tmp_path / "m.jsonl")
    assert error.value.field == "row 2"
    (tmp_path / "m.csv").write_text("path,video_id\na.mp4,a,extra\n")
    with pytest.raises(SourceError) as error:
        ManifestSource(tmp_path / "m.csv")
    assert error.value.field == "row 1"
    (tmp_path / "m.parquet").write_bytes(b"not parquet")
    with pytest.raises(SourceError) as error:
        ManifestSource(tmp_path / "m.parquet")
    assert error.value.field == "<parquet>"
