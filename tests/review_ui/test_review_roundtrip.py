"""The review round trip against a real Label Studio: export, reviewers annotate through the SDK, import."""

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.review_ui.conftest import sdk
from videogcg.annotators.propagator import MaskPropagator, PropagatorConfig
from videogcg.review_ui import brush
from videogcg.review_ui.apply import SAM2Repropagation
from videogcg.review_ui.client import LabelStudioClient, LabelStudioUnavailable
from videogcg.review_ui.export import ExportOptions, export_for_review, select_samples
from videogcg.review_ui.import_reviews import REJECTED_FILE, STATS_FILE, import_reviews
from videogcg.review_ui.server import files_root, load_credentials
from videogcg.review_ui.tasks import keyframe_positions
from videogcg.schemas import ReviewState
from videogcg.schemas import masks as rle
from videogcg.shards import iter_dataset, iter_shard, list_shards

PROJECT = "shapes review"


@pytest.fixture(scope="module")
def repropagate(tmp_path_factory):
    return SAM2Repropagation(MaskPropagator(PropagatorConfig(cache_dir=tmp_path_factory.mktemp("models"))))


@pytest.fixture(scope="module")
def exported(label_studio, gcg_dataset):
    """Four samples exported, then the same export again."""
    client = LabelStudioClient(label_studio.url, load_credentials(label_studio.data_dir).token)
    options = ExportOptions(route="all", budget=4)
    first = export_for_review(client, gcg_dataset, PROJECT, files_root(label_studio.data_dir), options)
    second = export_for_review(client, gcg_dataset, PROJECT, files_root(label_studio.data_dir), options)
    tasks = sorted(client.all_tasks(first["project"]), key=lambda t: t["data"]["key"])
    for task in tasks:
        task["predictions"] = client.predictions(task["id"])
    return client, first, second, tasks


def prediction(task, name_prefix=""):
    return [r for r in task["predictions"][0]["result"] if r["from_name"].startswith(name_prefix)]


def test_export_makes_one_task_per_sample_with_pre_annotations(exported, gcg_dataset, label_studio):
    client, first, second, tasks = exported
    assert (first["added"], second["added"], second["already_exported"]) == (4, 0, 4)
    expected = select_samples(gcg_dataset, "all", 4)
    assert sorted(t["data"]["key"] for t in tasks) == sorted(s.key for s in expected)
    samples = {s.key: s for s in expected}
    for task in tasks:
        sample = samples[task["data"]["key"]]
        positions = task["data"]["keyframes"]
        assert positions == keyframe_positions(sample, 3) and len(positions) == 3 and positions[-1] < len(sample.clip.frame_indices)
        for region in prediction(task, "mask_"):
            slot = int(region["to_name"].removeprefix("frame_"))
            object_id = int(region["value"]["brushlabels"][0].removeprefix("object "))
            track = next(t for t in sample.objects if t.object_id == object_id)
            mask = brush.decode(region["value"]["rle"], sample.video.height, sample.video.width)
            assert np.array_equal(mask, rle.decode(track.masks[positions[slot]]))
        regions = {(r["to_name"], r["value"]["brushlabels"][0]) for r in prediction(task, "mask_")}
        assert len(regions) == sum(t.masks[p] is not None for t in sample.objects for p in positions)
        [answer] = prediction(task, "answer")
        turn = sample.conversation[0]
        assert re.sub(r"\[([^\]]+)\]\([\d, ]+\)", r"\1", answer["value"]["text"][0]) == turn.answer.text
        # the frames are served by Label Studio itself
        url = task["data"]["frame_0"]
        assert url.startswith("/data/local-files/?d=")
        served = client.request("GET", url)
        assert served.headers["content-type"].startswith("image/") and len(served.content) > 100


def reviewer_annotations(tasks, sample_by_key):
    """Accept one, reject one, edit a mask, edit a phrase."""
    accept, reject, fix_mask, fix_text = tasks
    edited_mask = None
    annotations = []
    annotations.append({"task": accept["id"], "result": prediction(accept) + [choice("accept")]})
    reason = {"from_name": "reason", "to_name": "legend", "type": "textarea", "value": {"text": ["masks swap objects"]}}
    annotations.append({"task": reject["id"], "result": prediction(reject) + [choice("reject"), reason]})
    regions = prediction(fix_mask)
    target = next(r for r in regions if r["to_name"] == "frame_1")
    sample = sample_by_key[fix_mask["data"]["key"]]
    drawn = brush.decode(target["value"]["rle"], sample.video.height, sample.video.width)
    drawn[:, : drawn.shape[1] // 2] = False  # the reviewer erases the left half and paints a patch
    drawn[5:15, -20:-5] = True
    edited_mask = (fix_mask["data"]["keyframes"][1], int(target["value"]["brushlabels"][0].removeprefix("object ")), drawn)
    target = {**target, "value": {**target["value"], "rle": brush.encode(drawn)}}
    annotations.append(
        {"task": fix_mask["id"], "result": [r for r in regions if r is not target and r["id"] != target["id"]] + [target, choice("fixed")]}
    )
    regions = prediction(fix_text)
    answer = next(r for r in regions if r["from_name"] == "answer")
    new_text = re.sub(r"\[([^\]]+)\]", "[the edited thing]", answer["value"]["text"][0], count=1)
    answer = {**answer, "value": {"text": [new_text]}}
    annotations.append({"task": fix_text["id"], "result": [r for r in regions if r["from_name"] != "answer"] + [answer, choice("fixed")]})
    return annotations, edited_mask, new_text


def choice(value):
    return {"from_name": "decision", "to_name": "legend", "type": "choices", "value": {"choices": [value]}}


@pytest.fixture(scope="module")
def reviewed(exported, label_studio, gcg_dataset, repropagate, tmp_path_factory):
    client, _, _, tasks = exported
    originals = {item.sample.key: item for item in iter_dataset(gcg_dataset)}
    annotations, edited_mask, new_text = reviewer_annotations(tasks, {k: v.sample for k, v in originals.items()})
    token = load_credentials(label_studio.data_dir).token
    sdk({"command": "annotate", "url": label_studio.url, "token": token, "annotations": annotations})
    output = tmp_path_factory.mktemp("reviewed") / "out"
    stats = import_reviews(client, PROJECT, gcg_dataset, output, repropagate)
    return {"tasks": tasks, "originals": originals, "output": output, "stats": stats, "edited_mask": edited_mask, "new_text": new_text}


def test_import_applies_every_decision_field_by_field(reviewed):
    tasks, originals, output, stats = reviewed["tasks"], reviewed["originals"], reviewed["output"], reviewed["stats"]
    accept, reject, fix_mask, fix_text = (t["data"]["key"] for t in tasks)
    out = {item.sample.key: item for item in iter_dataset(output)}
    assert set(out) == set(originals) - {reject}
    # untouched samples are as they were, byte for byte in their JSON
    for key in set(originals) - {accept, reject, fix_mask, fix_text}:
        assert out[key].sample == originals[key].sample
    # accepted: unchanged content, human-accepted state, provenance kept
    sample, before = out[accept].sample, originals[accept].sample
    assert sample.review == ReviewState.HUMAN_ACCEPTED and sample.meta["review"]["decision"] == "accept"
    assert [t.masks for t in sample.objects] == [t.masks for t in before.objects]
    assert [t.provenance for t in sample.objects] == [t.provenance for t in before.objects]
    assert all(t.review == ReviewState.HUMAN_ACCEPTED for t in sample.objects) and sample.conversation == before.conversation
    # rejected: left out, reason kept
    [rejected] = [json.loads(line) for line in (output / REJECTED_FILE).read_text().splitlines()]
    assert rejected["key"] == reject and rejected["reason"] == "masks swap objects"
    # edited mask: the drawn keyframe kept exactly, the object re-tracked by SAM2 from it, others untouched
    position, object_id, drawn = reviewed["edited_mask"]
    sample, before = out[fix_mask].sample, originals[fix_mask].sample
    track = next(t for t in sample.objects if t.object_id == object_id)
    assert np.array_equal(rle.decode(track.masks[position]), drawn) and track.scores[position] is None
    assert track.review == ReviewState.HUMAN_EDITED and track.provenance.kind == "human"
    assert track.provenance.parameters["edited_frames"] == [position]
    assert track.provenance.parameters["repropagated_with"] == "tiny:sam2_video"
    assert track.provenance.name.startswith("label-studio-user-") or "@" in track.provenance.name
    assert track.boxes[position] == rle.to_box(track.masks[position])
    for other, old in zip(sample.objects, before.objects):
        if other.object_id != object_id:
            assert other == old
    assert sample.review == ReviewState.HUMAN_EDITED and sample.meta["review"]["changed"] == [f"masks of object {object_id}"]
    # edited phrase: re-parsed, validated, human provenance remembering the old answer
    sample, before = out[fix_text].sample, originals[fix_text].sample
    turn = sample.conversation[0]
    assert turn.phrases[0].text == "the edited thing" and turn.phrases[0].object_ids == before.conversation[0].phrases[0].object_ids
    assert turn.answer.provenance.kind == "human" and turn.answer.provenance.parameters["previous"] == before.conversation[0].answer.text
    assert turn.answer.review == ReviewState.HUMAN_EDITED and turn.question == before.conversation[0].question
    assert sample.objects == before.objects
    # stats, with the automatic-vs-human IoU on the edited keyframe
    ours = rle.decode(next(t for t in originals[fix_mask].sample.objects if t.object_id == object_id).masks[position])
    iou = np.logical_and(ours, drawn).sum() / np.logical_or(ours, drawn).sum()
    assert stats == json.loads((output / STATS_FILE).read_text())
    assert {k: stats[k] for k in ("tasks", "reviewed", "accepted", "fixed", "rejected", "edited", "edited_masks")} == {
        "tasks": 4,
        "reviewed": 4,
        "accepted": 1,
        "fixed": 2,
        "rejected": 1,
        "edited": 2,
        "edited_masks": 1,
    }
    assert stats["mean_iou_auto_vs_human"] == pytest.approx(iou, abs=1e-4) and stats["problems"] == []


def test_import_twice_gives_the_same_output(reviewed, exported, gcg_dataset, repropagate, tmp_path):
    client = exported[0]
    import_reviews(client, PROJECT, gcg_dataset, tmp_path / "again", repropagate)
    first = sorted(p.name for p in reviewed["output"].iterdir())
    assert first == sorted(p.name for p in (tmp_path / "again").iterdir())
    for name in first:
        assert (reviewed["output"] / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name


def test_a_task_whose_sample_is_gone_is_reported_and_the_rest_goes_on(reviewed, exported, gcg_dataset, repropagate, tmp_path):
    client, _, _, tasks = exported
    exported_keys = {t["data"]["key"] for t in tasks}
    partial = tmp_path / "partial"
    shutil.copytree(gcg_dataset, partial)
    shard = next(p for p in list_shards(partial) if exported_keys & {s.key for s in iter_shard(p, decode=False)})
    removed = exported_keys & {s.key for s in iter_shard(shard, decode=False)}
    shard.unlink()
    shard.with_suffix(".parquet").unlink()
    stats = import_reviews(client, PROJECT, partial, tmp_path / "out", repropagate)
    missing = [p for p in stats["problems"] if p["error"] == "the sample is not in the input dataset"]
    assert sorted(p["key"] for p in missing) == sorted(removed)
    assert stats["reviewed"] == 4 - len(removed)


def test_a_mask_of_the_wrong_size_is_rejected_with_a_reason(exported, label_studio, gcg_dataset, repropagate, tmp_path):
    client, first, _, _ = exported
    # a fifth sample exported, annotated with a mask drawn for another image size
    export_for_review(client, gcg_dataset, PROJECT, files_root(label_studio.data_dir), ExportOptions(route="all", budget=5))
    task = next(t for t in client.all_tasks(first["project"]) if not t["annotations"])
    task["predictions"] = client.predictions(task["id"])
    bad = {**prediction(task, "mask_")[0], "original_width": 10, "original_height": 10}
    bad["value"] = {**bad["value"], "rle": brush.encode(np.ones((10, 10), bool))}
    sdk(
        {
            "command": "annotate",
            "url": label_studio.url,
            "token": load_credentials(label_studio.data_dir).token,
            "annotations": [{"task": task["id"], "result": [bad, choice("fixed")]}],
        }
    )
    stats = import_reviews(client, PROJECT, gcg_dataset, tmp_path / "out", repropagate)
    [problem] = [p for p in stats["problems"] if p["task"] == task["id"]]
    assert "is 10x10, the video is" in problem["error"]
    assert stats["reviewed"] == 4  # the other reviews still applied
    kept = next(s for s in iter_dataset(tmp_path / "out", decode=False) if s.key == task["data"]["key"])
    assert kept.review in (ReviewState.AUTO, ReviewState.AUTO_VERIFIED)


def test_server_down_retries_then_fails_clearly_and_writes_nothing(gcg_dataset, repropagate, tmp_path):
    from videogcg.pipeline.local_services import free_port

    client = LabelStudioClient(f"http://127.0.0.1:{free_port()}", "x" * 40, attempts=3, backoff=0.01)
    with pytest.raises(LabelStudioUnavailable, match=r"GET http://127\.0\.0\.1:\d+/api/projects: ConnectError.*after 3 attempts"):
        import_reviews(client, PROJECT, gcg_dataset, tmp_path / "out", repropagate)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_server_stopping_mid_import_leaves_the_previous_output(exported, label_studio, gcg_dataset, repropagate, tmp_path):
    """The real server stops after the project lookup: retries, a clear error, no reviewed shard, the old output kept."""
    client = exported[0]
    previous = tmp_path / "out"
    import_reviews(client, PROJECT, gcg_dataset, previous, repropagate)
    before = {p.name: p.read_bytes() for p in previous.iterdir()}

    class StopsTheServer(LabelStudioClient):
        def all_tasks(self, project_id):
            label_studio.stop()
            return super().all_tasks(project_id)

    stopping = StopsTheServer(client.url, client.token, attempts=3, backoff=0.05)
    try:
        with pytest.raises(LabelStudioUnavailable, match=r"/api/projects/\d+/export: ConnectError.*after 3 attempts"):
            import_reviews(stopping, PROJECT, gcg_dataset, previous, repropagate)
    finally:
        label_studio.start()  # the other tests go on with the same server and data
    assert {p.name: p.read_bytes() for p in previous.iterdir()} == before and not (tmp_path / "out.partial").exists()


def test_server_listens_on_loopback_only(label_studio):
    port = f"{label_studio.port:04X}"
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and local.endswith(":" + port):
                listening.append(local.split(":")[0])
    assert listening and all(address in ("0100007F", "00000000000000000000000001000000") for address in listening), listening


CHROMIUM = "/usr/bin/chromium"


def test_exported_task_shows_its_keyframes_and_brush_masks(label_studio, exported, tmp_path):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: `make chromium` (make test does) installs Debian's chromium")
    _, first, _, tasks = exported
    task = tasks[0]
    credentials = load_credentials(label_studio.data_dir)
    shot = Path(os.environ.get("VIDEOGCG_SCREENSHOT_DIR", tmp_path)) / "label-studio-task.png"  # kept where asked
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{label_studio.url}/user/login")
        page.fill("input[name=email]", credentials.username)
        page.fill("input[name=password]", credentials.password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/user/login" not in url, timeout=60_000)
        page.goto(f"{label_studio.url}/projects/{first['project']}/data?task={task['id']}")
        # the three keyframes load (served by Label Studio from its local-files root) ...
        page.wait_for_function(
            "() => [...document.querySelectorAll('img')].filter(i => i.src.includes('local-files') && i.naturalWidth > 0).length >= 3",
            timeout=90_000,
        )
        # ... and the brush regions of the pre-annotation are listed in the regions panel
        page.wait_for_timeout(2000)
        page.screenshot(path=str(shot), full_page=True)
        body = page.inner_text("body")
        browser.close()
    assert "object 0" in body and task["data"]["legend"].split(";")[0] in body
    assert not [e for e in errors if "ResizeObserver" not in e], errors
    assert shot.stat().st_size > 10_000


def test_credentials_are_private_and_the_token_stays_out_of_the_log(label_studio):
    path = label_studio.data_dir / "credentials.json"
    token = load_credentials(label_studio.data_dir).token
    assert path.stat().st_mode & 0o777 == 0o600 and len(token) == 40
    assert token not in (label_studio.data_dir / "server.log").read_text(errors="replace")
