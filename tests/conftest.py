import os

os.environ["HF_HUB_OFFLINE"] = "1"  # any accidental download fails loudly instead of hanging

import numpy as np
import pytest

from tests.factories import make_sample
from videogcg.synthetic import generate_sources, random_scene, render


@pytest.fixture(scope="session")
def sources(tmp_path_factory):
    """The three synthetic source forms, 4 videos of 24 frames at 160x120."""
    return generate_sources(tmp_path_factory.mktemp("sources"), num_videos=4, seed=7, num_frames=24, width=160, height=120)


@pytest.fixture(scope="session")
def scene_video():
    return render(random_scene(np.random.default_rng(3), "scene", width=160, height=120, num_frames=12))


@pytest.fixture
def sample(scene_video):
    return make_sample(scene_video)


@pytest.fixture(scope="session")
def gcg_dataset(sources, tmp_path_factory):
    """A pipeline output from the MeViS-layout source: 4 videos, two GCG conversations and one referring
    question each (12 samples), in shards of 2 videos."""
    from videogcg.pipeline.beam_pipeline import run_pipeline
    from videogcg.pipeline.settings import PipelineConfig
    from videogcg.pipeline.source_registry import SourceSpec

    root = tmp_path_factory.mktemp("gcg_dataset")
    config = PipelineConfig.load(
        overrides=[
            f"models.cache_dir={root / 'models'}",
            "sampling.num_frames=6",
            "output.videos_per_shard=2",
            "compose.conversations_per_video=2",
            "compose.referring_per_video=1",
        ]
    )
    summary = run_pipeline(SourceSpec("mevis", str(sources["masks_expressions"])), root / "shards", config)
    assert summary["failed"] == 0 and summary["samples"] == 12, summary
    return root / "shards"
