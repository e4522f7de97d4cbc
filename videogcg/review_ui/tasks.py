"""Samples as Label Studio tasks, and Label Studio annotations back as reviews.

One task per sample, not per keyframe: the decision (accept / reject / fixed) and the answer belong to the
whole sample, so a reviewer sees its keyframes side by side (`frame_0`, `frame_1`, ...: Image tags with one
BrushLabels layer each, since Label Studio's video tag draws rectangles only) together with the answer in
the bracket form (`[the red square](0) moves left`), which they can edit in place. Keyframes are spread
evenly over the clip's sampled frames; every object's mask on a keyframe is a brush region labelled
`object <id>`, and a legend names each object by its phrase.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from videogcg.annotators.clips import uniform_indices
from videogcg.preview import PALETTE
from videogcg.review_ui import brush
from videogcg.schemas import Sample
from videogcg.schemas import masks as rle
from videogcg.schemas.markup import render_bracketed

DECISIONS = ("accept", "reject", "fixed")
MODEL_VERSION = "videogcg"


def object_label(object_id: int) -> str:
    return f"object {object_id}"


def label_config(num_keyframes: int, object_ids: list[int]) -> str:
    """The labeling interface: a legend, the keyframes with brush layers, the answer, the decision."""
    labels = "".join(
        f'<Label value="{object_label(i)}" background="#{"".join(f"{c:02x}" for c in PALETTE[i % len(PALETTE)])}"/>' for i in object_ids
    )
    frames = "".join(
        f'<View style="display:inline-block;margin:4px"><Header value="keyframe {k + 1}" size="6"/>'
        f'<Image name="frame_{k}" value="$frame_{k}" zoom="true"/>'
        f'<BrushLabels name="mask_{k}" toName="frame_{k}">{labels}</BrushLabels></View>'
        for k in range(num_keyframes)
    )
    return (
        '<View><Header value="$title"/><Text name="legend" value="$legend"/>'
        f"<View>{frames}</View>"
        '<Header value="Answer: [phrase](object ids) marks what each mask grounds" size="5"/>'
        '<TextArea name="answer" toName="legend" editable="true" rows="4" maxSubmissions="1"/>'
        '<Choices name="decision" toName="legend" choice="single" required="true" showInline="true">'
        + "".join(f'<Choice value="{d}"/>' for d in DECISIONS)
        + "</Choices>"
        '<TextArea name="reason" toName="legend" placeholder="why rejected (optional)" rows="1" maxSubmissions="1"/></View>'
    )


def keyframe_positions(sample: Sample, num_keyframes: int) -> list[int]:
    """Positions in the clip's sampled frames, evenly spread (fewer when the clip is shorter)."""
    count = len(sample.clip.frame_indices)
    return sorted(set(uniform_indices(0, count, min(num_keyframes, count))))


def answer_markup(sample: Sample) -> str:
    turn = sample.conversation[0]
    return render_bracketed(turn.answer.text, turn.phrases)


def legend(sample: Sample) -> str:
    names = {}
    for phrase in sample.conversation[0].phrases if sample.conversation else ():
        for object_id in phrase.object_ids:
            names.setdefault(object_id, phrase.text)
    return "; ".join(f"{object_label(t.object_id)}: {names.get(t.object_id, t.label)}" for t in sample.objects)


def brush_result(slot: int, object_id: int, mask: np.ndarray) -> dict:
    height, width = mask.shape
    return {
        "id": f"k{slot}o{object_id}",
        "from_name": f"mask_{slot}",
        "to_name": f"frame_{slot}",
        "type": "brushlabels",
        "original_width": width,
        "original_height": height,
        "image_rotation": 0,
        "value": {"format": "rle", "rle": brush.encode(mask), "brushlabels": [object_label(object_id)]},
    }


def build_task(sample: Sample, positions: list[int], frame_urls: list[str], num_keyframes: int) -> dict:
    """Task data plus the pipeline's output as a prediction (pre-annotation) the reviewer starts from."""
    verify = sample.meta.get("verify", {}) if isinstance(sample.meta.get("verify"), dict) else {}
    confidence = verify.get("confidence")
    data = {
        "key": sample.key,
        "title": f"{sample.source} / {sample.video_id}  (confidence {confidence}, {', '.join(verify.get('reasons', [])) or 'no flags'})",
        "legend": legend(sample),
        "keyframes": positions,
    }
    for slot in range(num_keyframes):
        data[f"frame_{slot}"] = frame_urls[min(slot, len(frame_urls) - 1)]
    result = []
    for slot, t in enumerate(positions):
        for track in sample.objects:
            if track.masks[t] is not None:
                result.append(brush_result(slot, track.object_id, rle.decode(track.masks[t])))
    if sample.conversation:
        result.append(
            {"id": "answer", "from_name": "answer", "to_name": "legend", "type": "textarea", "value": {"text": [answer_markup(sample)]}}
        )
    prediction = {"model_version": MODEL_VERSION, "result": result}
    if isinstance(confidence, (int, float)):
        prediction["score"] = confidence
    return {"data": data, "predictions": [prediction]}


class ReviewError(ValueError):
    """An annotation that cannot be applied; names the task and the region or field."""


@dataclass(frozen=True)
class Review:
    """What a reviewer said about one sample. `masks[(position, object_id)]` are the masks on the annotated
    keyframes (all False where they removed an object); `answer` is the bracket-form text as submitted."""

    task_id: int
    key: str
    reviewer: str
    at: datetime
    decision: str
    reason: str
    answer: str | None
    masks: dict[tuple[int, int], np.ndarray]


def _texts(result: dict) -> str:
    return "\n".join(result.get("value", {}).get("text", []))


def latest_annotation(task: dict) -> dict | None:
    done = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
    return max(done, key=lambda a: (a.get("updated_at") or a.get("created_at") or "", a["id"])) if done else None


def _reviewer(annotation: dict) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("id"))
    return f"label-studio-user-{who}"


def parse_review(task: dict, height: int, width: int) -> Review | None:
    """The latest submitted annotation of a task as a Review (None if nobody has submitted one)."""
    annotation = latest_annotation(task)
    if annotation is None:
        return None
    where = f"task {task['id']} ({task['data'].get('key')})"
    positions = task["data"]["keyframes"]
    decision, reason, answer = None, "", None
    masks: dict[tuple[int, int], np.ndarray] = {}
    for result in annotation.get("result", []):
        name = result.get("from_name", "")
        if name == "decision":
            decision = (result.get("value", {}).get("choices") or [None])[0]
        elif name == "reason":
            reason = _texts(result)
        elif name == "answer":
            answer = _texts(result)
        elif name.startswith("mask_"):
            slot = int(name.removeprefix("mask_"))
            labels = result.get("value", {}).get("brushlabels") or []
            if slot >= len(positions) or len(labels) != 1 or not labels[0].startswith("object "):
                raise ReviewError(
                    f"{where}: region {result.get('id')} on {result.get('to_name')} needs one 'object <id>' label, has {labels}"
                )
            size = (result.get("original_height"), result.get("original_width"))
            if size != (height, width):
                raise ReviewError(f"{where}: mask {result.get('id')} is {size[1]}x{size[0]}, the video is {width}x{height}")
            try:
                mask = brush.decode(result["value"]["rle"], height, width)
            except (KeyError, brush.BrushFormatError) as error:
                raise ReviewError(f"{where}: mask {result.get('id')}: {error}") from None
            key = (positions[slot], int(labels[0].removeprefix("object ")))
            masks[key] = masks[key] | mask if key in masks else mask
    if decision not in DECISIONS:
        raise ReviewError(f"{where}: decision must be one of {DECISIONS}, got {decision!r}")
    at = datetime.fromisoformat((annotation.get("updated_at") or annotation["created_at"]).replace("Z", "+00:00"))
    return Review(task["id"], task["data"]["key"], _reviewer(annotation), at, decision, reason, answer, masks)
