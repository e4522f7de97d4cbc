"""The path cluster runners (Flink, Spark, Dataflow v2) take: Beam's job service plus separate SDK worker
processes, the pipeline serialized and its DoFns set up in other processes. Everything on loopback."""

import pytest

from tests.run_outputs import assert_same_run_output
from videogcg.pipeline.beam_pipeline import run_pipeline
from videogcg.pipeline.local_services import portable_services
from videogcg.pipeline.run_report import read_records
from videogcg.pipeline.settings import PipelineConfig
from videogcg.pipeline.source_registry import SourceSpec


@pytest.fixture(scope="module")
def beam_services():
    with portable_services() as options:
        yield options


def test_the_portable_runner_writes_what_the_local_runner_writes(sources, beam_services, tmp_path_factory, tmp_path):
    """The same inputs through separate SDK worker processes and in-process: the same keys, sample JSON (but
    for creation times) and manifest rows. State that lives only in the launching process (module globals,
    models loaded at construction, temp paths of the launcher) would not reach the workers and fail here."""
    cache = tmp_path_factory.mktemp("models")
    config = PipelineConfig.load(overrides=[f"models.cache_dir={cache}", "sampling.num_frames=4", "models.refine_captions=false"])
    source = SourceSpec("boxes_captions", str(sources["boxes_captions"]))
    portable = run_pipeline(source, tmp_path / "portable", config, beam_services)
    local = run_pipeline(source, tmp_path / "local", config)
    assert portable["failed"] == local["failed"] == 0 and portable["samples"] + portable["routes"]["drop"] == 4
    assert (portable["samples"], portable["routes"]) == (local["samples"], local["routes"])
    samples = assert_same_run_output(tmp_path / "portable", tmp_path / "local")
    assert all(t.provenance.name == "tiny:sam2_video" for s in samples.values() for t in s.objects)  # models loaded in the SDK workers
    assert [r for r in read_records(tmp_path / "portable") if r["kind"] == "failure"] == []
