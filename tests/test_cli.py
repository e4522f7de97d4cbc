import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from videogcg.cli import app
from videogcg.preview import PALETTE
from videogcg.shards import iter_dataset

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    invoke("samples", "--output", root / "in", "--num-videos", 3, "--width", 128, "--height", 96, "--num-frames", 12)
    output = invoke(
        "run",
        "--input",
        root / "in" / "masks_expressions",
        "--output",
        root / "shards",
        "sampling.num_frames=4",
        "output.videos_per_shard=2",
    )
    assert "3 videos (3 this run): 3 samples in 2 shards" in output and "0 failed" in output
    return root / "shards"


def test_inspect_json_counts_what_is_on_disk(dataset):
    summary = json.loads(invoke("inspect", dataset, "--json"))
    assert (summary["shards"], summary["samples"], summary["videos"], summary["objects"], summary["frames"]) == (2, 3, 3, 9, 12)
    items = list(iter_dataset(dataset, decode=False))
    assert summary["masks"] == sum(t.num_masks for s in items for t in s.objects)
    assert summary["phrases"] == sum(len(s.conversation[0].phrases) for s in items)
    assert summary["sources"] == {"masks_expressions": 3}
    assert summary["review_states"] == {"auto": 3}
    assert summary["failures"] == 0


def test_inspect_table(dataset):
    output = invoke("inspect", dataset)
    assert "samples" in output and "masks_expressions" in output


def test_preview_draws_masks_of_the_chosen_sample(dataset, tmp_path):
    item = list(iter_dataset(dataset))[2]
    png = tmp_path / "preview.png"
    output = invoke("preview", dataset, "--key", item.sample.key, "--output", png, "--max-frames", 4)
    assert item.sample.key in output
    image = np.asarray(Image.open(png).convert("RGB"))
    assert image.shape[1] == 4 * 128 + 5 * 8  # four tiles side by side with padding
    tile = image[8 : 8 + 96, 8 : 8 + 128].astype(int)
    mask = item.masks[0, 0]
    # the lower interior of the mask: away from the box outline and from the id label at its top-left
    interior = mask.copy()
    for dy in range(-3, 4):
        for dx in range(-3, 4):
            interior &= np.roll(mask, (dy, dx), axis=(0, 1))
    interior[: int(np.nonzero(mask)[0].mean())] = False
    assert interior.sum() > 20
    expected = (0.5 * item.frames[0][interior] + 0.5 * np.array(PALETTE[0])).astype(int)
    assert (np.abs(tile[interior] - expected) <= 1).all(axis=1).mean() > 0.95  # other boxes may cross it


def test_preview_with_unknown_key_fails_clearly(dataset, tmp_path):
    result = runner.invoke(app, ["preview", str(dataset), "--key", "missing", "--output", str(tmp_path / "x.png")])
    assert result.exit_code != 0
    assert "no sample with key 'missing'" in result.output


def test_run_records_failures_and_reports_them(tmp_path):
    invoke("samples", "--output", tmp_path / "in", "--num-videos", 2, "--width", 64, "--height", 64, "--num-frames", 6)
    (tmp_path / "in" / "masks_expressions" / "videos" / "synth0001.mp4").write_bytes(b"")
    output = invoke("run", "--input", tmp_path / "in" / "masks_expressions", "--output", tmp_path / "out")
    assert "1 samples" in output and "1 failed" in output and "sample_frames: VideoReadError: 1" in output
    summary = json.loads(invoke("inspect", tmp_path / "out", "--json"))
    assert summary["failures"] == 1 and summary["failures_by_reason"] == {"sample_frames: VideoReadError": 1}


def test_config_errors_name_the_key(tmp_path):
    result = runner.invoke(app, ["run", "--input", str(tmp_path), "--output", str(tmp_path / "o"), "sampling.num_frames=many"])
    assert result.exit_code != 0 and "sampling.num_frames" in result.output


def test_installed_entry_point_runs(tmp_path):
    result = subprocess.run([sys.executable, "-m", "videogcg.cli", "--help"], capture_output=True, text=True, check=True)
    for command in ("samples", "run", "inspect", "preview"):
        assert command in result.stdout
