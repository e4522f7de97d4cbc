"""The VideoGLaMM recipe: its six sources, their sampling and splits, end to end on small fixtures in each
source's layout."""

import json

import pytest
from typer.testing import CliRunner

from tests.pipeline.recipe_data import EXPECTED_VIDEOS, write_videoglamm_data
from videogcg.cli import app
from videogcg.pipeline.plan import count_source
from videogcg.pipeline.recipe import RECIPE_STATS_FILE, run_recipe, split_runs
from videogcg.pipeline.run_report import read_records
from videogcg.pipeline.settings import ConfigError
from videogcg.shards import iter_dataset

RECIPE = "configs/recipes/videoglamm-gcg.yaml"
SOURCES = ["video_gcg", "activitynet_entities", "vidstg", "hcstvg", "mevis", "ref_youtube_vos"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_videoglamm_data(tmp_path_factory.mktemp("video_dataset"), tmp_path_factory.mktemp("scratch"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The recipe with the tiny offline models instead of its real checkpoints."""
    return {"config": "configs/tiny.yaml", "overrides": [f"models.cache_dir={tmp_path_factory.mktemp('models')}"]}


def test_the_recipe_names_videoglamms_six_sources_with_their_sampling_and_splits(tmp_path):
    runs = {run.label: run for run in split_runs(RECIPE, "/data", str(tmp_path))}
    assert sorted(runs) == sorted(EXPECTED_VIDEOS)
    assert list(dict.fromkeys(run.source for run in runs.values())) == SOURCES
    sampling = {label: run.config.sampling for label, run in runs.items()}
    assert (sampling["video_gcg/train"].policy, sampling["video_gcg/train"].max_frames) == ("all", 40)
    assert (sampling["activitynet_entities/val"].policy, sampling["activitynet_entities/val"].num_frames) == ("count", 10)
    assert (sampling["vidstg/test"].policy, sampling["vidstg/test"].max_frames) == ("all", 20)
    assert (sampling["hcstvg/train"].policy, sampling["hcstvg/train"].fps, sampling["hcstvg/train"].max_frames) == ("fps", 5.0, 40)
    assert sampling["mevis/valid_u"].policy == "all"
    assert runs["mevis/train"].config.models.captioner.startswith("hf:")  # the recipe's base: configs/pretrained.yaml
    anet = runs["activitynet_entities/val"].spec
    assert (anet.ids, anet.ids_key) == ("/data/activitynet_entities/data/split_ids_anet_entities.json", "validation")
    assert anet.media == "/data/activitynet/videos/val"
    assert runs["vidstg/val"].spec.vidor_annotations == "/data/vidor/annotations"
    assert runs["hcstvg/val"].output == str(tmp_path / "hcstvg" / "val")
    # the command line wins over the recipe
    overridden = split_runs(RECIPE, "/data", str(tmp_path), overrides=["sampling.max_frames=8"], only=["mevis/train"])
    assert [r.label for r in overridden] == ["mevis/train"] and overridden[0].config.sampling.max_frames == 8


def test_recipe_errors_name_the_field(tmp_path):
    with pytest.raises(ConfigError, match="--only nope: not in the recipe"):
        split_runs(RECIPE, "/data", str(tmp_path), only=["nope"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsources:\n  - {name: a, format: mevis, splits: {train: {paht: a}}}\n")
    with pytest.raises(ConfigError, match=r"sources\.0\.splits\.train\.path: Field required"):
        split_runs(bad, "/data", str(tmp_path))
    bad.write_text("name: x\nsources:\n  - {name: a, format: mevis-ish, splits: {train: {path: a}}}\n")
    with pytest.raises(ConfigError, match=r"sources\.0\.format: unknown format 'mevis-ish'"):
        split_runs(bad, "/data", str(tmp_path))
    bad.write_text("name: x\nsources:\n  - {name: a, format: mevis, overrides: {sampling.policy: most}, splits: {train: {path: a}}}\n")
    with pytest.raises(ConfigError, match="source a: sampling.policy"):
        split_runs(bad, "/data", str(tmp_path))


def test_the_recipe_makes_every_split_of_every_source(data, tiny, tmp_path):
    runs = split_runs(RECIPE, str(data), str(tmp_path), tiny["config"], tiny["overrides"])
    result = run_recipe(runs, str(tmp_path))
    assert json.loads((tmp_path / RECIPE_STATS_FILE).read_text()) == result
    for label, expected in EXPECTED_VIDEOS.items():
        split = result["splits"][label]
        assert (split["videos"], split["failed"]) == (expected, 0), label
        samples = list(iter_dataset(tmp_path / label, decode=False))
        dropped = [r for r in read_records(tmp_path / label) if r["kind"] == "dropped"]
        assert len({s.video_id for s in samples} | {r["video_id"] for r in dropped}) == expected, label
        assert all(s.source == label.split("/")[0] for s in samples)
    frames = {label: {s.video_id: s.clip.frame_indices for s in iter_dataset(tmp_path / label, decode=False)} for label in EXPECTED_VIDEOS}
    assert frames["vidstg/train"] == {"2401075277": tuple(range(2, 10))}  # every frame of the temporal tube [2, 10)
    assert frames["hcstvg/train"] == {"hc_train": (1, 3, 5, 7, 9, 11)}  # 1.2 s of tube at 10 fps, 5 frames a second
    assert frames["hcstvg/val"] == {"hc_val": (3, 5, 7, 9)}
    assert frames["activitynet_entities/train"] == {"v_train____0": tuple(range(1, 11))}  # 10 frames of the segment
    assert all(indices == tuple(range(16)) for indices in frames["mevis/train"].values())  # every frame
    assert sorted(frames["mevis/train"]) == ["mv_a", "mv_b"] and sorted(frames["mevis/valid_u"]) == ["mv_c"]
    assert {s.meta["source_kind"] for s in iter_dataset(tmp_path / "video_gcg" / "test", decode=False)} == {"masks"}

    # what `plan` counts from the same files without decoding is what the runs sampled
    counts = {c.label: c for c in (count_source(r.label, r.spec, r.config) for r in runs)}
    compared = []
    for label, by_video in frames.items():
        assert counts[label].videos == EXPECTED_VIDEOS[label]
        dropped = {r["video_id"] for r in read_records(tmp_path / label) if r["kind"] == "dropped"}
        if not dropped:
            assert counts[label].total("sampled") == sum(len(indices) for indices in by_video.values()), label
            compared.append(label)
    assert {"video_gcg/test", "mevis/train", "mevis/valid_u", "ref_youtube_vos/train"} <= set(compared)  # source masks: none dropped


def test_build_command_runs_a_chosen_split_and_skips_it_when_rerun(data, tiny, tmp_path):
    base = ["build", "--recipe", RECIPE, "--data", str(data), "--output", str(tmp_path), "--config", tiny["config"], *tiny["overrides"]]
    command = [*base, "--only", "mevis/valid_u"]
    first = CliRunner().invoke(app, command)
    assert first.exit_code == 0, first.output
    assert "mevis/valid_u:" in first.output and "1 videos (1 this run)" in first.output
    again = CliRunner().invoke(app, command)
    assert again.exit_code == 0 and "1 videos (0 this run)" in again.output
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == ["mevis"]

    other = CliRunner().invoke(app, [*base, "--only", "hcstvg/val"])
    assert other.exit_code == 0, other.output
    stats = json.loads((tmp_path / RECIPE_STATS_FILE).read_text())
    assert sorted(stats["splits"]) == ["hcstvg/val", "mevis/valid_u"] and stats["totals"]["videos"] == 2  # both runs' splits
    wrong = CliRunner().invoke(app, [*base, "--only", "mevis/test"])
    assert wrong.exit_code != 0 and "not in the recipe" in wrong.output
