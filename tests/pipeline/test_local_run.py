import json
import shutil

import numpy as np
import pytest

from videogcg.pipeline.config import RunConfig
from videogcg.pipeline.local_run import run_masks_expressions
from videogcg.pipeline.run_report import read_failures
from videogcg.pipeline.sources import MevisSource, SourceError
from videogcg.schemas import masks as rle
from videogcg.schemas.markup import parse_tagged, render_gcg
from videogcg.shards import iter_dataset, read_manifest


def test_run_turns_every_video_into_a_grounded_sample(sources, tmp_path):
    stats = run_masks_expressions(sources["masks_expressions"], tmp_path, RunConfig(num_frames=6, samples_per_shard=3))
    assert (stats.inputs, stats.written, stats.failures) == (4, 4, [])
    assert stats.shards == ["shard-000000.tar", "shard-000001.tar"]
    items = list(iter_dataset(tmp_path))
    assert len(items) == 4
    meta = json.loads((sources["masks_expressions"] / "meta_expressions.json").read_text())["videos"]
    mask_dict = json.loads((sources["masks_expressions"] / "mask_dict.json").read_text())
    for item in items:
        sample = item.sample
        assert sample.source == "masks_expressions"
        assert sample.clip.frame_indices == (2, 6, 10, 14, 18, 22)
        assert item.frames.shape == (6, 120, 160, 3)
        turn = sample.conversation[0]
        assert turn.question.text in RunConfig().question_templates
        # every object mentioned exactly once, each phrase one of the source's expressions
        mentioned = [o for p in turn.phrases for o in p.object_ids]
        assert sorted(mentioned) == [0, 1, 2]
        expressions = {e["exp"] for e in meta[sample.video_id]["expressions"].values()}
        assert {p.text for p in turn.phrases} <= expressions
        markup = render_gcg(turn.answer.text, turn.phrases)
        assert markup.count("[SEG]") == len(turn.phrases) == len(item.phrase_masks())
        assert parse_tagged(markup).text == turn.answer.text
        # masks are the source's masks at the sampled frames
        entry = meta[sample.video_id]["expressions"]
        anno = {o: a for e in entry.values() for o, a in zip(e["obj_id"], e["anno_id"])}
        for n, track in enumerate(sample.objects):
            for i, t in enumerate(sample.clip.frame_indices):
                source_mask = mask_dict[anno[track.object_id]][t]
                expected = np.zeros((120, 160), bool) if source_mask is None else rle.decode(rle.RLE.from_coco(source_mask))
                np.testing.assert_array_equal(item.masks[n, i], expected)
    # one video per kind of expression ordering: the two-object expression is used where it comes first
    assert any(len(p.object_ids) == 2 for item in items for p in item.sample.conversation[0].phrases)


def test_rerun_is_refused_without_overwrite_and_keys_are_stable(sources, tmp_path):
    run_masks_expressions(sources["masks_expressions"], tmp_path)
    keys = read_manifest(tmp_path)["key"].to_pylist()
    with pytest.raises(FileExistsError, match="already holds shards"):
        run_masks_expressions(sources["masks_expressions"], tmp_path)
    run_masks_expressions(sources["masks_expressions"], tmp_path, overwrite=True)
    assert read_manifest(tmp_path)["key"].to_pylist() == keys


@pytest.fixture
def damaged_source(sources, tmp_path):
    """A copy of the MeViS-layout source with one problem per video, plus one healthy video."""
    root = tmp_path / "damaged"
    shutil.copytree(sources["masks_expressions"], root)
    videos = root / "videos"
    (videos / "synth0000.mp4").write_bytes(b"")  # zero bytes
    data = (videos / "synth0001.mp4").read_bytes()
    (videos / "synth0001.mp4").write_bytes(data[: len(data) // 2])  # truncated
    meta = json.loads((root / "meta_expressions.json").read_text())
    mask_dict = json.loads((root / "mask_dict.json").read_text())
    anno = meta["videos"]["synth0002"]["expressions"]["0"]["anno_id"][0]
    mask_dict[anno][5] = rle.encode(np.ones((60, 80), bool)).model_dump(mode="json")  # wrong size, on a frame not sampled
    meta["videos"]["ghost"] = {"expressions": {"0": {"exp": "a ghost", "obj_id": [0], "anno_id": ["0"]}}, "frames": []}  # no video
    meta["videos"]["broken_rle"] = {"expressions": {"0": {"exp": "a blob", "obj_id": [0], "anno_id": ["bad"]}}}
    mask_dict["bad"] = [{"size": [120, 160]}]  # no counts
    (root / "meta_expressions.json").write_text(json.dumps(meta))
    (root / "mask_dict.json").write_text(json.dumps(mask_dict))
    return root


def test_bad_inputs_are_recorded_with_reasons_and_the_rest_is_written(damaged_source, tmp_path):
    stats = run_masks_expressions(damaged_source, tmp_path / "out")
    assert (stats.inputs, stats.written) == (6, 1)
    assert [item.sample.video_id for item in iter_dataset(tmp_path / "out")] == ["synth0003"]
    failures = {f.video_id: f for f in read_failures(tmp_path / "out")}
    assert set(failures) == {"synth0000", "synth0001", "synth0002", "ghost", "broken_rle"}
    assert failures["synth0000"].stage == "read_video" and "empty (0 bytes)" in failures["synth0000"].message
    assert "synth0000.mp4" in failures["synth0000"].message
    assert failures["synth0001"].stage == "read_video" and "synth0001.mp4" in failures["synth0001"].message
    assert (failures["synth0002"].stage, failures["synth0002"].error) == ("compose", "SourceError")
    assert "masks of object 0[5]: size (60, 80) differs from the video's (120, 160)" in failures["synth0002"].message
    assert "ghost.mp4: file does not exist" in failures["ghost"].message
    assert failures["broken_rle"].stage == "read_source" and "mask_dict.json: ['bad'][0]: not a COCO RLE" in failures["broken_rle"].message
    summary = json.loads((tmp_path / "out" / "run_stats.json").read_text())
    assert summary["failed"] == 5 and summary["written"] == 1
    assert summary["failures_by_reason"]["read_video: VideoReadError"] == 3


@pytest.mark.parametrize(
    "content, field",
    [("{not json", "<json>"), ('{"movies": {}}', "videos"), ('{"videos": []}', "videos")],
)
def test_malformed_annotation_file_names_the_file_and_field(damaged_source, content, field):
    (damaged_source / "meta_expressions.json").write_text(content)
    with pytest.raises(SourceError) as info:
        MevisSource(damaged_source)
    assert info.value.field == field
    assert info.value.path.endswith("meta_expressions.json")


def test_expression_fields_are_checked(damaged_source):
    meta = json.loads((damaged_source / "meta_expressions.json").read_text())
    meta["videos"]["synth0003"]["expressions"]["1"]["obj_id"] = ["one"]
    (damaged_source / "meta_expressions.json").write_text(json.dumps(meta))
    with pytest.raises(SourceError, match=r"videos\['synth0003'\].expressions\['1'\].obj_id: must be a non-empty list of integers"):
        MevisSource(damaged_source).load("synth0003")
