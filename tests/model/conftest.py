import pytest

from videogcg.model.config import TrainConfig

TINY_TRAIN = "configs/train/tiny.yaml"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("model-cache"))


@pytest.fixture
def train_config(model_cache):
    """The tiny training config on the given shard folders, with overrides (`key=value`)."""

    def make(shards, *overrides: str) -> TrainConfig:
        folders = ", ".join(f'"{s}"' for s in shards)
        return TrainConfig.load(TINY_TRAIN, [f"cache_dir={model_cache}", f"data.shards=[{folders}]", *overrides])

    return make


@pytest.fixture
def tiny_model(train_config, gcg_dataset):
    """(model, encoder) of the tiny config, untrained."""
    from videogcg.model.trainer import Trainer

    return Trainer(train_config([gcg_dataset]), "unused").build()
