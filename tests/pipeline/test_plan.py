"""`videogcg plan`: counts without decoding, and its arithmetic against a case worked by hand."""

import json

import pytest
from typer.testing import CliRunner

from videogcg.cli import app
from videogcg.pipeline.plan import Workers, count_source, make_plan
from videogcg.pipeline.settings import PipelineConfig
from videogcg.pipeline.source_registry import SourceSpec
from videogcg.pipeline.stage_costs import CostTable, DeviceCosts, ModelCost

ROUND_COSTS = CostTable(
    decode_per_megapixel_frame=0.05,
    encode_per_megapixel_frame=0.025,
    stored_bytes_per_pixel=0.1,
    json_bytes_per_object_frame=300.0,
    devices={
        "gpu": DeviceCosts(
            description="a test device",
            models={
                "tiny:sam2_video": ModelCost(per_frame=1.0, per_object_frame=0.5, basis="round"),
                "tiny:text_llm": ModelCost(per_token=0.01, basis="round"),
            },
        )
    },
)
CONFIG = ["sampling.num_frames=6", "models.max_new_tokens=64", "models.refine_captions=true"]


@pytest.fixture
def no_decoding(monkeypatch):
    """Counting reads headers only: decoding a frame fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("plan decoded a video")

    monkeypatch.setattr("videogcg.video_io.decord.VideoReader", refuse)
    monkeypatch.setattr("videogcg.video_io.read_frames", refuse)


def test_plan_arithmetic_matches_a_case_worked_by_hand(sources, no_decoding):
    """4 boxes+captions videos of 24 frames at 160x120, 3 boxed shapes each; 6 frames sampled per video.

    propagate: 2 passes x 4 videos x 6 frames = 48 frames x 1.0 s = 48 s, and x 3 objects = 144 object-frames x 0.5 s = 72 s
    refine: 4 captions x 64 tokens = 256 tokens x 0.01 s = 2.56 s                    -> 122.56 accelerator-seconds
    decode: 4 x 6 frames x 0.0192 MP = 0.4608 MP-frames x 0.05 s = 0.02304 s; encode (1 sample each) x 0.025 = 0.01152 s
    bytes per sample: clip 6 x 19200 px x 0.1 = 11520, masks 3 x 6 x 300 x sqrt(19200 / 76800) = 2700, +2048 -> 16268; x 4
    wall on 2 workers (1 accelerator, 4 cores each), 10 s start-up: max(122.56 / 2, 0.03456 / 8) + 10 = 71.28 s
    """
    config = PipelineConfig.load(overrides=CONFIG)
    count = count_source("boxes", SourceSpec("boxes_captions", str(sources["boxes_captions"])), config)
    plan = make_plan([count], Workers("gpu", count=2, accelerators=1, cores=4, startup_seconds=10), ROUND_COSTS)
    assert plan.sources == [
        {"source": "boxes", "videos": 4, "counted": 4, "unreadable": 0, "sampled_frames": 24, "samples": 4, "objects": 12}
    ]
    stages = {(s.stage, s.unit): (s.units, round(s.seconds, 6)) for s in plan.stages}
    assert stages == {
        ("propagate", "frames"): (48, 48.0),
        ("propagate", "object-frames"): (144, 72.0),
        ("refine", "tokens"): (256, 2.56),
        ("decode", "megapixel-frames"): (0.461, 0.02304),
        ("encode", "megapixel-frames"): (0.461, 0.01152),
    }
    assert plan.accelerator_seconds == pytest.approx(122.56)
    assert plan.cpu_seconds == pytest.approx(0.03456)
    assert plan.output_bytes == pytest.approx(4 * 16268)
    assert plan.wall_seconds == pytest.approx(71.28)


def test_a_sample_of_the_videos_stands_for_all(sources, no_decoding):
    config = PipelineConfig.load(overrides=CONFIG)
    spec = SourceSpec("boxes_captions", str(sources["boxes_captions"]))
    full = make_plan([count_source("b", spec, config)], Workers("gpu"), ROUND_COSTS)
    half = make_plan([count_source("b", spec, config, sample=2)], Workers("gpu"), ROUND_COSTS)
    assert half.sources[0]["counted"] == 2 and half.sources[0]["sampled_frames"] == full.sources[0]["sampled_frames"] == 24
    assert half.accelerator_seconds == pytest.approx(full.accelerator_seconds)


def test_masks_expressions_need_no_accelerator_and_unknown_models_are_named(sources):
    config = PipelineConfig.load(overrides=CONFIG)
    count = count_source("mevis", SourceSpec("mevis", str(sources["masks_expressions"])), config)
    plan = make_plan([count], Workers("gpu"), ROUND_COSTS)
    assert plan.accelerator_seconds == 0 and {s.stage for s in plan.stages} == {"decode", "encode"}
    raw = count_source("raw", SourceSpec("folder", str(sources["raw"] / "videos")), config, raw_objects=2)
    with pytest.raises(ValueError, match="model 'tiny:vlm': no cost on gpu"):
        make_plan([raw], Workers("gpu"), ROUND_COSTS)


def test_plan_command_prints_a_table_or_json(sources, tmp_path):
    costs = tmp_path / "costs.yaml"
    costs.write_text(json.dumps(ROUND_COSTS.model_dump()))
    command = ["plan", "--format", "boxes_captions", "--input", str(sources["boxes_captions"]), "--device", "gpu", "--costs", str(costs)]
    command += ["--workers", "2", "--json"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    planned = json.loads(result.output[result.output.index("{") :])
    assert planned["workers"]["count"] == 2 and planned["sources"][0]["videos"] == 4
    table = CliRunner().invoke(app, ["plan", "--format", "boxes_captions", "--input", str(sources["boxes_captions"])])
    assert table.exit_code == 0 and "accelerator-seconds (cpu)" in table.output and "tiny:sam2_video" in table.output
    neither = CliRunner().invoke(app, ["plan"])
    assert neither.exit_code != 0 and "either --input" in neither.output
    unknown = CliRunner().invoke(app, [*command[:5], "--device", "tpu"])
    assert unknown.exit_code != 0 and "device 'tpu': no costs" in unknown.output
