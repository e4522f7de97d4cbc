"""`videogcg report`: one static HTML page of a dataset, checked against the manifests, and in a browser."""

import base64
import html
import io
import json
import re
import shutil
import tarfile
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.factories import make_sample
from videogcg.cli import app
from videogcg.pipeline.beam_pipeline import run_pipeline
from videogcg.pipeline.run_report import failures_by_reason, read_records
from videogcg.pipeline.settings import PipelineConfig
from videogcg.pipeline.source_registry import SourceSpec
from videogcg.preview import PALETTE
from videogcg.report.selection import choose
from videogcg.schemas import TextField, Turn
from videogcg.shards import ShardWriter, ShardWriterConfig, find_sample, read_manifest
from videogcg.shards.layout import records_path

TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny.yaml"
CHROMIUM = Path("/usr/bin/chromium")
runner = CliRunner()


def report(directory: Path, output: Path, *options) -> str:
    result = runner.invoke(app, ["report", str(directory), "--output", str(output), *map(str, options)])
    assert result.exit_code == 0, result.output
    assert str(output) in result.output
    return output.read_text(encoding="utf-8")


def section(page: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', page, re.S)
    assert match, f"no section {section_id!r}"
    return match.group(1)


def table_counts(page: str, table_id: str) -> dict[str, int]:
    match = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert match, f"no table {table_id!r}"
    rows = re.findall(r'<tr data-name="([^"]*)">.*?data-value="(\d+)"', match.group(1))
    return {html.unescape(name): int(value) for name, value in rows}


def _run(source: Path, output: Path, *overrides: str) -> Path:
    config = PipelineConfig.load(TINY, ["sampling.num_frames=4", "output.videos_per_shard=2", *overrides])
    run_pipeline(SourceSpec("mevis", str(source)), output, config)
    return output


@pytest.fixture(scope="module")
def damaged(sources, tmp_path_factory):
    """The pipeline (tiny config) on the MeViS-layout source with one video emptied: samples over two shards,
    a dead letter, and with a review budget of one, samples dropped over the budget."""
    root = tmp_path_factory.mktemp("report")
    source = root / "source"
    shutil.copytree(sources["masks_expressions"], source)
    (source / "videos" / "synth0000.mp4").write_bytes(b"")
    return _run(source, root / "dataset", "verify.review_budget=1")


@pytest.fixture(scope="module")
def page(gcg_dataset, tmp_path_factory):
    return report(gcg_dataset, tmp_path_factory.mktemp("page") / "report.html")


def test_numbers_on_the_page_are_the_manifests(damaged, tmp_path):
    page = report(damaged, tmp_path / "r.html")
    manifest, records = read_manifest(damaged), read_records(damaged)
    totals = table_counts(page, "totals")
    assert totals["samples"] == manifest.num_rows and manifest.num_rows + totals["dropped"] == 3  # 4 videos, one failed
    assert totals["videos"] == len(set(manifest["video_id"].to_pylist()))
    for name, column in (("objects", "num_objects"), ("masks", "num_masks"), ("frames", "num_frames"), ("phrases", "num_phrases")):
        assert totals[name] == sum(manifest[column].to_pylist()), name
    assert totals["shards"] == 2 and totals["failures"] == 1
    assert totals["dropped"] == sum(r["kind"] == "dropped" for r in records)
    assert table_counts(page, "by-source") == Counter(manifest["source"].to_pylist())
    states = Counter(manifest["review_state"].to_pylist())
    assert table_counts(page, "by-review-state") == states
    routes = table_counts(page, "by-route")
    assert routes.get("accept", 0) == states["auto_verified"] and routes.get("review", 0) == states["auto"]
    over = sum(r["kind"] == "dropped" and r["reasons"] == ["over the review budget"] for r in records)
    assert routes.get("drop (over the review budget)", 0) == over
    assert routes["drop"] + over == totals["dropped"]
    assert table_counts(page, "failures-by-reason") == failures_by_reason(records) == {"sample_frames: VideoReadError": 1}
    assert "synth0000" in section(page, "dead-letters")


def test_page_is_self_contained_with_a_title_and_the_sections(gcg_dataset, page):
    assert f"<title>videogcg report: {gcg_dataset.name}</title>" in page
    assert table_counts(page, "totals")["samples"] == read_manifest(gcg_dataset).num_rows
    for section_id in ("numbers", "plots", "dead-letters", "gallery"):
        section(page, section_id)
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith(("data:image/", "#")) for s in sources), [s[:40] for s in sources]
    assert "http://" not in page and "https://" not in page


def test_plots_are_embedded_pngs(page):
    plots = re.findall(r'<img class="plot" src="data:image/png;base64,([^"]+)"', section(page, "plots"))
    assert len(plots) == 6
    for encoded in plots:
        image = Image.open(io.BytesIO(base64.b64decode(encoded)))
        assert image.format == "PNG" and image.width > 200 and image.height > 100
    for plot_id in ("objects-per-sample", "phrases-per-answer", "mask-area", "temporal-stability", "confidence", "frequent-phrases"):
        assert f'id="plot-{plot_id}"' in page


def test_gallery_shows_previews_with_phrases_coloured_like_their_masks(gcg_dataset, tmp_path):
    page = report(gcg_dataset, tmp_path / "r.html", "--gallery", 4)
    items = re.findall(r'<figure class="gallery-item" data-key="([^"]+)">(.*?)</figure>', section(page, "gallery"), re.S)
    assert len(items) == 4 and len({key for key, _ in items}) == 4
    for key, body in items:
        image = re.search(r'<img class="preview" src="data:image/jpeg;base64,([^"]+)"', body).group(1)
        assert Image.open(io.BytesIO(base64.b64decode(image))).format == "JPEG"
        sample = find_sample(gcg_dataset, html.unescape(key)).sample
        order = [track.object_id for track in sample.objects]
        answers = re.findall(r'<p class="answer">A: (.*?)</p>', body)
        assert len(answers) == len(sample.conversation) >= 1
        for answer, turn in zip(answers, sample.conversation):
            spans = re.findall(r'<span class="phrase" style="color: rgb\((\d+), (\d+), (\d+)\)" data-objects="([^"]*)">(.*?)<span', answer)
            assert len(spans) == len(turn.phrases) >= 1
            for (r, g, b, ids, text), phrase in zip(spans, turn.phrases):
                assert html.unescape(text) == phrase.text and ids == ",".join(map(str, phrase.object_ids))
                assert (int(r), int(g), int(b)) == PALETTE[order.index(phrase.object_ids[0]) % len(PALETTE)]
            assert html.unescape(re.sub(r'<span class="ids">[^<]*</span>|<[^>]+>', "", answer)) == turn.answer.text


def test_reading_is_bounded_and_spread_over_shards(gcg_dataset, tmp_path, monkeypatch):
    opened = []
    original = tarfile.TarFile.extractfile

    def counting(self, member):
        opened.append(Path(member.name if hasattr(member, "name") else member).name)
        return original(self, member)

    monkeypatch.setattr(tarfile.TarFile, "extractfile", counting)
    manifest = read_manifest(gcg_dataset)
    total = manifest.num_rows
    page = report(gcg_dataset, tmp_path / "one.html", "--max-samples", 1, "--gallery", 1)
    [key] = {name.partition(".")[0] for name in opened}
    assert sorted(name.partition(".")[2] for name in opened) == ["json", "mp4"]
    assert f"1 of {total} samples read from 1 of 2 shards (seed 0)" in page
    assert table_counts(page, "totals")["samples"] == total  # the counts still cover every row
    assert len(re.findall(r'<figure class="gallery-item"', page)) == 1

    opened.clear()
    page = report(gcg_dataset, tmp_path / "two.html", "--max-samples", 2, "--gallery", 0)
    assert all(name.endswith(".json") for name in opened) and len(opened) == 2  # no pixels without a gallery
    shards = {row["key"]: row["shard"] for row in manifest.select(["key", "shard"]).to_pylist()}
    assert len({shards[name.partition(".")[0]] for name in opened}) == 2
    assert f"2 of {total} samples read from 2 of 2 shards" in page


def test_choice_is_seeded_and_round_robin_over_shards():
    manifest = pa.table({"shard": [f"s{i // 5}" for i in range(15)], "key": [f"k{i:02d}" for i in range(15)]})
    first = choose(manifest, 6, seed=1)
    assert first == choose(manifest, 6, seed=1)
    assert sorted(Counter(first.shard_of[k] for k in first.keys).values()) == [2, 2, 2]
    assert len(set(choose(manifest, 20, seed=1).keys)) == 15
    assert {tuple(choose(manifest, 6, seed=s).keys) for s in range(5)} != {tuple(first.keys)}


def test_text_from_the_data_is_escaped(scene_video, tmp_path):
    sample = make_sample(scene_video)
    turn = sample.conversation[0]
    answer = TextField(text=turn.answer.text + " <script>alert('a')</script> & more", provenance=turn.answer.provenance)
    question = TextField(text="<b>What</b> happens?", provenance=turn.question.provenance)
    sample = sample.model_copy(update={"conversation": (Turn(question=question, answer=answer, phrases=turn.phrases),)})
    with ShardWriter(tmp_path / "d", ShardWriterConfig()) as writer:
        shard = writer.write(sample, scene_video.frames[list(sample.clip.frame_indices)])
    failure = {
        "kind": "failure",
        "source": "s",
        "video_id": "v<1>",
        "stage": "read_source",
        "error": "E",
        "message": '<img src=x onerror="y">',
    }
    records_path(tmp_path / "d" / shard).write_text(json.dumps(failure) + "\n")
    page = report(tmp_path / "d", tmp_path / "r.html")
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;a&#x27;)&lt;/script&gt; &amp; more" in page
    assert "<b>What</b>" not in page and "&lt;b&gt;What&lt;/b&gt; happens?" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=&quot;y&quot;&gt;" in page and "v&lt;1&gt;" in page


def test_a_dataset_of_only_dead_letters_still_renders(sources, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(sources["masks_expressions"], source)
    for video in (source / "videos").glob("*.mp4"):
        video.write_bytes(b"")
    dataset = _run(source, tmp_path / "dataset")
    page = report(dataset, tmp_path / "r.html")
    totals = table_counts(page, "totals")
    assert (totals["samples"], totals["failures"], totals["objects"]) == (0, 4, 0)
    assert table_counts(page, "failures-by-reason") == {"sample_frames: VideoReadError": 4}
    assert "no samples" in section(page, "gallery") and "<img" not in section(page, "gallery")
    assert section(page, "plots").count("no data") == 6


def test_missing_folder_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["report", "nope", "--output", "r.html"])
    assert result.exit_code != 0 and "nope is not a folder" in result.output and not (tmp_path / "r.html").exists()


def test_page_loads_in_a_browser_with_its_figures_and_gallery(gcg_dataset, page, tmp_path):
    """Headless Chromium (Debian's package, `make chromium`): no console errors, every image decoded."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            view = browser.new_page(viewport={"width": 1280, "height": 900})
            view.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            view.on("pageerror", lambda error: errors.append(str(error)))
            view.on("request", lambda request: requests.append(request.url))
            view.goto(path.as_uri(), wait_until="load")
            images = view.eval_on_selector_all("img", "els => els.map(e => [e.className, e.complete, e.naturalWidth, e.naturalHeight])")
            assert view.title() == f"videogcg report: {gcg_dataset.name}"
            assert view.locator("#numbers table#totals").is_visible() and view.locator("#gallery .turns .phrase").count() >= 2
            view.screenshot(path="/tmp/report.png", full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert [url for url in requests if not url.startswith(("data:", "file:"))] == []
    assert Counter(kind for kind, *_ in images) == {"plot": 6, "preview": min(12, read_manifest(gcg_dataset).num_rows)}
    assert all(complete and width > 0 and height > 0 for _, complete, width, height in images), images
