import pytest


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    """Where tiny checkpoints are built, once per test session."""
    return tmp_path_factory.mktemp("model-cache")
