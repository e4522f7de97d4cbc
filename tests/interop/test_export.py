"""Exports to VideoGLaMM's video_gcg layout and YouTube-VIS JSON, checked field by field and read back."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from videogcg.cli import app
from videogcg.interop import export_videoglamm, export_ytvis
from videogcg.interop.videoglamm import SPLITS, SplitFractions
from videogcg.pipeline.beam_pipeline import run_pipeline
from videogcg.pipeline.settings import PipelineConfig
from videogcg.pipeline.source_registry import SourceSpec
from videogcg.pipeline.sources import SourceError
from videogcg.pipeline.sources.ytvis import YouTubeVISSource
from videogcg.schemas import RLE, ReviewState
from videogcg.schemas import masks as rle
from videogcg.shards import iter_dataset


@pytest.fixture(scope="module")
def exported(gcg_dataset, tmp_path_factory):
    output = tmp_path_factory.mktemp("videoglamm")
    counts = export_videoglamm(gcg_dataset, output, SplitFractions(val=0.25, test=0.25))
    return output, counts


def gcg_samples(directory) -> dict[str, object]:
    """The first GCG sample of each video, by video id (what an export holds)."""
    samples = sorted(iter_dataset(directory, decode=False), key=lambda s: s.conversation_index)
    first = {}
    for sample in samples:
        first.setdefault(sample.video_id, sample)
    return first


def split_files(output: Path) -> dict[str, dict]:
    return {split: json.loads((output / "instruction_data" / f"{split}.json").read_text()) for split in SPLITS}


def test_videoglamm_layout_has_the_fields_its_loader_reads(gcg_dataset, exported):
    output, counts = exported
    expected = gcg_samples(gcg_dataset)
    files = split_files(output)
    videos = [v for data in files.values() for v in data["videos"]]
    # 12 samples: 4 clips, each exported once (its first conversation), referring questions are not dense captions
    assert sum(counts["splits"].values()) == len(videos) == 4 and counts["skipped"] == 0
    for split, data in files.items():
        assert set(data) == {"info", "videos", "annotations", "categories"}
        category_names = {c["id"]: c["name"] for c in data["categories"]}
        ids = {v["id"] for v in data["videos"]}
        assert all(a["video_id"] in ids for a in data["annotations"])
        for video in data["videos"]:
            sample = expected[video["metadata"]["video_id"]]
            annotations = [a for a in data["annotations"] if a["video_id"] == video["id"]]
            assert video["metadata"] == {
                "dataset": "yt19",  # VideoGLaMM's loader reads the frame root from it
                "source": sample.source,
                "video_id": sample.video_id,
                "key": sample.key,
                "frame_indices": list(sample.clip.frame_indices),
                "review_state": sample.review.value,
                "object_ids": {str(a["id"]): t.object_id for t, a in zip(sample.objects, annotations)},
            }
            assert sample.conversation_index == 0 and video["dataset_split"] == "yt19"
            assert (video["width"], video["height"]) == (sample.video.width, sample.video.height)
            assert video["length"] == len(video["file_names"]) == len(sample.clip.frame_indices) == 6
            for name in video["file_names"]:
                with Image.open(output / "JPEGImages" / name) as image:
                    assert image.format == "JPEG" and image.size == (sample.video.width, sample.video.height)
            assert [category_names[a["category_id"]] for a in annotations] == [t.label for t in sample.objects]
            for annotation, track in zip(annotations, sample.objects):
                assert len(annotation["segmentations"]) == len(annotation["bboxes"]) == len(annotation["areas"]) == video["length"]
                for segmentation, box, area, mask in zip(
                    annotation["segmentations"], annotation["bboxes"], annotation["areas"], track.masks
                ):
                    if mask is None:
                        assert segmentation is box is area is None
                        continue
                    assert segmentation["size"] == [sample.video.height, sample.video.width] and isinstance(segmentation["counts"], str)
                    assert np.array_equal(rle.decode(RLE.from_coco(segmentation)), rle.decode(mask))
                    assert area == int(rle.decode(mask).sum()) and box == list(rle.to_box(mask))
            cap, turn = video["dense_cap"], sample.conversation[0]
            assert cap["caption"] == turn.answer.text
            assert cap["v_id2o_id"] == {str(n): a["id"] for n, a in enumerate(annotations)}
            annotation_of = {t.object_id: a["id"] for t, a in zip(sample.objects, annotations)}
            words = cap["caption"].split(" ")
            expected_pos, expected_ids = [], []
            for phrase in turn.phrases:
                for object_id in phrase.object_ids:
                    expected_pos.append(len(turn.answer.text[: phrase.end].split(" ")) - 1)
                    expected_ids.append(annotation_of[object_id])
                # VideoGLaMM grounds the word before the tag: the phrase's last word
                assert phrase.text.split(" ")[-1] in words[expected_pos[-1]]
            assert (cap["token_pos"], cap["mask_id"]) == (expected_pos, expected_ids)
            assert [(p["start"], p["end"]) for p in cap["phrases"]] == [(p.start, p.end) for p in turn.phrases]


def test_split_is_by_video_and_deterministic(gcg_dataset, exported, tmp_path):
    output, _ = exported
    placed = {split: {v["metadata"]["video_id"] for v in data["videos"]} for split, data in split_files(output).items()}
    fractions = SplitFractions(val=0.25, test=0.25)
    assert placed == {s: {v for v in gcg_samples(gcg_dataset) if fractions.split_of("masks_expressions", v) == s} for s in SPLITS}
    counts = export_videoglamm(gcg_dataset, tmp_path, SplitFractions(val=0, test=0))
    assert counts["splits"] == {"train": 4, "val": 0, "test": 0}
    with pytest.raises(ValueError, match="sum to at most 1"):
        SplitFractions(val=0.7, test=0.5)


def test_videoglamm_export_reads_back_exactly(gcg_dataset, exported):
    output, _ = exported
    expected = gcg_samples(gcg_dataset)
    read = 0
    for split, data in split_files(output).items():
        source = SourceSpec("videoglamm", str(output / "instruction_data" / f"{split}.json")).open()
        originals = {str(v["id"]): expected[v["metadata"]["video_id"]] for v in data["videos"]}
        assert source.video_ids() == list(originals)
        for video_id, sample in originals.items():
            video = source.load(video_id)
            assert video.source == "video_gcg" and len(list(video.path.iterdir())) == 6
            assert [(o.object_id, o.label) for o in video.objects] == [(t.object_id, t.label) for t in sample.objects]
            for obj, track in zip(video.objects, sample.objects):
                assert obj.masks == track.masks and obj.boxes == track.boxes
            [caption] = video.captions
            turn = sample.conversation[0]
            assert caption.text == turn.answer.text
            assert [(p.start, p.end, p.object_ids) for p in caption.phrases] == [(p.start, p.end, p.object_ids) for p in turn.phrases]
            read += 1
    assert read == 4


def test_an_exported_dataset_runs_through_the_pipeline_again(exported, tmp_path):
    """A dataset in VideoGLaMM's layout (made here or elsewhere) can be re-annotated, reviewed and resharded."""
    output, _ = exported
    config = PipelineConfig.load(overrides=[f"models.cache_dir={tmp_path / 'models'}", "sampling.policy=count", "sampling.num_frames=6"])
    train = output / "instruction_data" / "train.json"
    summary = run_pipeline(SourceSpec("videoglamm", str(train)), tmp_path / "again", config)
    source = YouTubeVISSource(train, output / "JPEGImages", name="video_gcg")
    assert summary["failed"] == 0 and summary["samples"] + summary["routes"]["drop"] == len(source.video_ids())
    for item in iter_dataset(tmp_path / "again"):
        original = source.load(item.sample.video_id)
        assert item.sample.meta["source_kind"] == "masks"
        assert [t.object_id for t in item.sample.objects] == [o.object_id for o in original.objects]
        for track, obj in zip(item.sample.objects, original.objects):
            assert track.masks == tuple(obj.masks[i] for i in item.sample.clip.frame_indices)
        # the grounded caption it came with is the answer again, not a new caption from the models
        [caption], turn = original.captions, item.sample.conversation[0]
        assert turn.answer.text == caption.text and turn.answer.provenance.kind == "source"
        assert [(p.start, p.end, p.object_ids) for p in turn.phrases] == [(p.start, p.end, p.object_ids) for p in caption.phrases]


def test_mapping_errors_name_the_field(exported, tmp_path):
    output, _ = exported
    data = next(d for d in split_files(output).values() if d["videos"])
    video = data["videos"][0]
    first = next(iter(video["metadata"]["object_ids"]))
    video["metadata"]["object_ids"] = {"999": 0}
    (tmp_path / "bad.json").write_text(json.dumps(data))
    source = YouTubeVISSource(tmp_path / "bad.json", output / "JPEGImages")
    with pytest.raises(SourceError, match=r"videos\[0\]\.metadata\.object_ids\['999'\]: is not an annotation id of this video"):
        source.load(str(video["id"]))
    video["metadata"]["object_ids"] = {first: -1}
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(SourceError, match=r"object_ids\['\d+'\]: -1 is not a distinct object id"):
        YouTubeVISSource(tmp_path / "bad.json", output / "JPEGImages").load(str(video["id"]))
    del video["metadata"]["object_ids"]
    video["dense_cap"]["phrases"] = [{"start": 5, "end": 2, "mask_id": [1]}]
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(SourceError, match=r"dense_cap\.phrases\[0\]: span \[5, 2\) must lie in the caption"):
        YouTubeVISSource(tmp_path / "bad.json", output / "JPEGImages").load(str(video["id"]))


def test_ytvis_export_matches_the_samples_and_reads_back(gcg_dataset, tmp_path):
    counts = export_ytvis(gcg_dataset, tmp_path)
    data = json.loads((tmp_path / "instances.json").read_text())
    assert counts == {"videos": 4, "annotations": len(data["annotations"]), "categories": len(data["categories"])}
    assert "dense_cap" not in data["videos"][0] and len({a["id"] for a in data["annotations"]}) == len(data["annotations"])
    expected = list(gcg_samples(gcg_dataset).values())
    source = SourceSpec("ytvis", str(tmp_path / "instances.json")).open()
    loaded = [source.load(v) for v in source.video_ids()]
    by_masks = {tuple(o.masks) for video in loaded for o in video.objects}
    assert by_masks == {tuple(t.masks) for sample in expected for t in sample.objects}
    assert sum(len(v.objects) for v in loaded) == sum(len(s.objects) for s in expected) == counts["annotations"]


def test_rejected_samples_are_left_out(gcg_dataset, tmp_path):
    from videogcg.shards import ShardWriter, ShardWriterConfig, list_shards
    from videogcg.shards.layout import manifest_path

    items = list(iter_dataset(gcg_dataset))
    rejected = {items[0].sample.video_id}
    writer = ShardWriter(tmp_path / "reviewed", ShardWriterConfig(max_samples=100))
    for item in items:
        review = ReviewState.REJECTED if item.sample.video_id in rejected else item.sample.review
        writer.write(item.sample.model_copy(update={"review": review}), item.frames)
    writer.close()
    assert list_shards(tmp_path / "reviewed") and manifest_path(list_shards(tmp_path / "reviewed")[0]).exists()
    counts = export_ytvis(tmp_path / "reviewed", tmp_path / "out")
    assert counts["videos"] == 3


def test_cli_exports(gcg_dataset, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        app, ["export", "videoglamm", "--input", str(gcg_dataset), "--output", str(tmp_path / "vg"), "--val", "0", "--test", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "{'train': 4, 'val': 0, 'test': 0} clips" in result.output
    result = runner.invoke(app, ["export", "ytvis", "--input", str(gcg_dataset), "--output", str(tmp_path / "yt")])
    assert result.exit_code == 0 and "4 clips" in result.output
    result = runner.invoke(app, ["export", "videoglamm", "--input", str(tmp_path / "nowhere"), "--output", str(tmp_path / "x")])
    assert result.exit_code != 0 and "is not a folder" in result.output
