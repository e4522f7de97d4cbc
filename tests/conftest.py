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
