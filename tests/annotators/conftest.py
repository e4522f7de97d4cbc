import pytest
import torch


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    """Where tiny checkpoints are built, once per test session."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads, and on a 2-core machine shared with other work two
    OpenMP threads spin against each other (the grounder tests took 36 s instead of 7 s that way)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
