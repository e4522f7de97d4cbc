"""Runs that read their inputs from and write their output to s3:// (a local moto_server), through Beam's
FileSystems: the same output as a local run, nothing ever visible half-written, and a killed run resumed on
the bucket without losing or duplicating a sample."""

import json
import subprocess
import sys

import pytest

from tests.run_outputs import assert_same_run_output, kill_mid_run
from videogcg import storage
from videogcg.pipeline.beam_pipeline import LOCAL_RUNNER, run_pipeline
from videogcg.pipeline.plan import count_source
from videogcg.pipeline.run_report import STATS_FILE
from videogcg.pipeline.settings import PipelineConfig
from videogcg.pipeline.source_registry import SourceSpec
from videogcg.shards import read_manifest

IGNORED = ("created_at", "uri")  # when a sample was made, and where its video was (the bucket, or the local copy)


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    cache = tmp_path_factory.mktemp("models")
    return PipelineConfig.load(overrides=[f"models.cache_dir={cache}", "sampling.num_frames=4", "output.videos_per_shard=1"])


@pytest.fixture
def s3(s3_server):
    s3_server.use()
    return s3_server


def test_object_paths_list_and_read_like_local_paths(s3, sources):
    local = sources["masks_expressions"]
    remote = storage.path(s3.upload(local, "paths"))
    assert remote.is_dir() and not remote.is_file() and not (remote / "nothing").exists()
    assert [p.name for p in remote.iterdir()] == sorted(p.name for p in local.iterdir())
    assert [p.name for p in remote.rglob("*.mp4")] == sorted(p.name for p in local.rglob("*.mp4"))
    video = remote / "videos" / "synth0000.mp4"
    assert video.is_file() and video.parent.name == "videos" and video.stem == "synth0000"
    assert video.with_suffix(".json") == remote / "videos" / "synth0000.json"
    assert video.relative_to(remote).as_posix() == "videos/synth0000.mp4"
    assert video.read_bytes() == (local / "videos" / "synth0000.mp4").read_bytes()
    assert json.loads((remote / "meta_expressions.json").read_text()) == json.loads((local / "meta_expressions.json").read_text())
    with pytest.raises(ValueError, match="reading only"):
        video.open("w")


def test_a_published_file_is_never_visible_under_its_final_name_half_written(s3, tmp_path, monkeypatch):
    """The object store has no atomic rename: the file goes up under a temporary name and is renamed (copy +
    delete) when complete. Just before that rename, the final name does not exist yet."""
    final = f"s3://{s3.bucket}/publish/shard-000000.tar"
    seen = []
    commit = storage._commit

    def observe(temporary, path):
        seen.append((storage.exists(path), storage.exists(temporary), storage.read_bytes(temporary)))
        commit(temporary, path)

    monkeypatch.setattr(storage, "_commit", observe)
    local = tmp_path / "shard.tar"
    local.write_bytes(b"x" * 100_000)
    storage.publish_file(local, final)
    storage.publish_bytes(final, b"second version")  # a rerun replaces it the same way
    assert seen[0] == (False, True, b"x" * 100_000) and seen[1][:2] == (True, True)
    assert storage.read_bytes(final) == b"second version" and not local.exists()
    assert s3.keys("publish/") == ["publish/shard-000000.tar"]


def test_a_run_from_s3_to_s3_writes_what_a_local_run_writes(s3, sources, config, tmp_path):
    """The MeViS-form inputs (mp4 videos, JSON annotations) uploaded to the bucket, the output written there."""
    source = s3.upload(sources["masks_expressions"], "inputs/mevis")
    output = f"s3://{s3.bucket}/runs/mevis"
    local = run_pipeline(SourceSpec("mevis", str(sources["masks_expressions"])), tmp_path / "local", config)
    remote = run_pipeline(SourceSpec("mevis", source, name="masks_expressions"), output, config, LOCAL_RUNNER + s3.beam_args)
    assert remote["failed"] == 0 and remote["samples"] == local["samples"] == 4
    assert remote["shards"] == local["shards"] == [f"shard-{i:06d}.tar" for i in range(4)]
    samples = assert_same_run_output(output, tmp_path / "local", ignore=IGNORED)
    assert all(s.video.uri.startswith(f"{source}/videos/") for s in samples.values())
    written = s3.keys("runs/mevis/")
    assert not [k for k in written if k.endswith(storage.PARTIAL_SUFFIX)]
    expected = {f"runs/mevis/shard-{i:06d}.{ext}" for i in range(4) for ext in ("tar", "parquet")}  # no dead letters, no records
    assert set(written) == expected | {f"runs/mevis/{STATS_FILE}"}
    assert json.loads(storage.read_text(f"{output}/{STATS_FILE}"))["samples"] == 4


def test_frame_folders_in_the_bucket(s3, config, tmp_path):
    """YouTube-VIS layout: JPEG frame folders (one nested, BURST-style) and a JSON file, all in the bucket."""
    from tests.pipeline import test_source_ytvis

    dataset = test_source_ytvis.build(tmp_path / "ytvis")
    inputs = s3.upload(tmp_path / "ytvis", "inputs/ytvis")
    annotations = f"{inputs}/{dataset.annotation_file.relative_to(tmp_path / 'ytvis').as_posix()}"
    frames = f"{inputs}/{dataset.frames_root.relative_to(tmp_path / 'ytvis').as_posix()}"
    output = f"s3://{s3.bucket}/runs/ytvis"
    run_pipeline(SourceSpec("ytvis", str(dataset.annotation_file), media=str(dataset.frames_root)), tmp_path / "local", config)
    remote = run_pipeline(SourceSpec("ytvis", annotations, media=frames), output, config, LOCAL_RUNNER + s3.beam_args)
    assert remote["failed"] == 0 and remote["samples"] + remote["routes"]["drop"] == 3
    assert_same_run_output(output, tmp_path / "local", ignore=IGNORED)


def test_a_killed_run_resumes_on_the_bucket_without_losing_or_duplicating(s3, sources, config, tmp_path):
    """SIGKILL `videogcg run` mid-way, leave a half-uploaded shard behind as a kill during the upload would,
    rerun the same command: the same samples as an uninterrupted run, once each, and no temporary objects."""
    source = s3.upload(sources["boxes_captions"], "inputs/boxes")
    clean = tmp_path / "clean"
    run_pipeline(SourceSpec("boxes_captions", str(sources["boxes_captions"]), name="boxes"), clean, config)
    s3.use()

    output = f"s3://{s3.bucket}/runs/killed"
    command = [
        sys.executable, "-m", "videogcg.cli", "run", "--format", "boxes_captions", "--input", source, "--output", output,
        f"models.cache_dir={config.models.cache_dir}", "sampling.num_frames=4", "output.videos_per_shard=1", *s3.beam_args,
    ]  # fmt: skip
    kill_mid_run(command, 3)
    finished = read_manifest(output)["shard"].to_pylist()
    assert len(set(finished)) < 4  # killed while videos were being processed (the shards are written at the end)
    unfinished = next(f"shard-{i:06d}.tar" for i in range(4) if f"shard-{i:06d}.tar" not in finished)
    storage.publish_bytes(f"{output}/{unfinished}{storage.PARTIAL_SUFFIX}", b"half a tar")
    storage.publish_bytes(f"{output}/{unfinished[:-4]}.parquet", b"a manifest whose tar never landed")

    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    keys = read_manifest(output)["key"].to_pylist()
    assert sorted(keys) == sorted(read_manifest(clean)["key"].to_pylist()) and len(keys) == len(set(keys))
    assert_same_run_output(output, clean, ignore=IGNORED)
    assert not [k for k in s3.keys("runs/killed/") if k.endswith(storage.PARTIAL_SUFFIX)]

    # a kill between shard commits: two shards committed, two not (their tars gone, half-uploaded copies left)
    client = s3.client()
    kept = {
        k: client.head_object(Bucket=s3.bucket, Key=k)["LastModified"]
        for k in ("runs/killed/shard-000000.tar", "runs/killed/shard-000001.tar")
    }
    for name in ("shard-000002", "shard-000003"):
        client.delete_object(Bucket=s3.bucket, Key=f"runs/killed/{name}.tar")
        storage.publish_bytes(f"{output}/{name}.tar{storage.PARTIAL_SUFFIX}", b"half a tar")
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0 and "4 videos (2 this run)" in result.stdout, result.stdout + result.stderr
    assert_same_run_output(output, clean, ignore=IGNORED)
    assert {k: client.head_object(Bucket=s3.bucket, Key=k)["LastModified"] for k in kept} == kept  # the finished shards untouched
    assert not [k for k in s3.keys("runs/killed/") if k.endswith(storage.PARTIAL_SUFFIX)]


def test_video_folders_globs_and_parquet_manifests_in_the_bucket(s3, sources, tmp_path):
    """The unlabelled sources read from URLs: a folder, a Beam glob, and a Parquet manifest with relative paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    url = s3.upload(sources["raw"], "inputs/raw")
    local = SourceSpec("folder", str(sources["raw"] / "videos")).open().video_ids()
    assert SourceSpec("folder", f"{url}/videos").open().video_ids() == local
    globbed = SourceSpec("folder", f"{url}/videos/*.mp4").open()
    assert globbed.video_ids() == local == SourceSpec("folder", str(sources["raw"] / "videos" / "*.mp4")).open().video_ids()
    table = pa.table({"path": [f"videos/{v}.mp4" for v in local], "caption": ["a clip"] * len(local)})
    pq.write_table(table, tmp_path / "list.parquet")
    s3.client().upload_file(str(tmp_path / "list.parquet"), s3.bucket, "inputs/raw/list.parquet")
    manifest = SourceSpec("manifest", f"{url}/list.parquet").open()
    assert manifest.video_ids() == [f"videos/{v}" for v in local]
    video = manifest.load(f"videos/{local[0]}")
    assert str(video.path) == f"{url}/videos/{local[0]}.mp4" and video.captions[0].text == "a clip"
    # `plan` counts from the container headers in the bucket what it counts locally
    config = PipelineConfig.load(overrides=["sampling.policy=fps", "sampling.fps=5"])
    remote = count_source("r", SourceSpec("folder", f"{url}/videos"), config)
    here = count_source("l", SourceSpec("folder", str(sources["raw"] / "videos")), config)
    assert remote.works == here.works and remote.total("sampled") == 4 * 12  # 2.4 s of video at 5 frames a second
