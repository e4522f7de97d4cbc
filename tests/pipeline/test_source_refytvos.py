"""RefYouTubeVOSSource against small datasets written in Ref-YouTube-VOS's layout (meta_expressions, JPEGImages,
palette-PNG Annotations, YouTube-VOS meta.json)."""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from videogcg.pipeline.sources import SourceError, SourceKind
from videogcg.pipeline.sources.refytvos import RefYouTubeVOSSource
from videogcg.schemas import masks as rle
from videogcg.synthetic import SyntheticVideo, random_scene, render
from videogcg.video_io import read_frames

WIDTH, HEIGHT, FRAMES = 64, 48, 6
# DAVIS / YouTube-VOS palette colours of indices 0..3 (the PNG stores the index; the colour is only for viewing).
PALETTE = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [0] * (256 * 3 - 12)


def palette_png(ids: np.ndarray, path: Path) -> None:
    image = Image.frombytes("P", (ids.shape[1], ids.shape[0]), ids.astype(np.uint8).tobytes())
    image.putpalette(PALETTE)
    image.save(path)


@dataclass
class Video:
    scene: SyntheticVideo
    names: list[str]  # the folder's frame names, in order
    listed: list[int]  # which of them meta_expressions lists
    referred: list[int]  # object ids with expressions


def build(root: Path, with_meta: bool = True) -> dict[str, Video]:
    """Three train videos (object k = shape k-1 of the scene, pixel value k):
    frames named every 5th like YouTube-VOS; an all-frames folder of which every other frame is listed;
    a video whose third object has no expression."""
    forms = {
        "0a1b2c3d4e": ([f"{5 * t:05d}" for t in range(FRAMES)], list(range(FRAMES)), [1, 2, 3]),
        "1f2e3d4c5b": ([f"{t:05d}" for t in range(FRAMES)], [0, 2, 4], [1, 2, 3]),
        "2c4e6a8b0d": ([f"{5 * t:05d}" for t in range(FRAMES)], list(range(FRAMES)), [1, 2]),
    }
    meta_expressions, meta, videos = {}, {}, {}
    for n, (video_id, (names, listed, referred)) in enumerate(forms.items()):
        scene = render(random_scene(np.random.default_rng(20 + n), video_id, width=WIDTH, height=HEIGHT, num_frames=FRAMES))
        for sub in ("JPEGImages", "Annotations"):
            (root / "train" / sub / video_id).mkdir(parents=True)
        for t, name in enumerate(names):
            Image.fromarray(scene.frames[t]).save(root / "train" / "JPEGImages" / video_id / f"{name}.jpg", quality=95)
            ids = np.zeros((HEIGHT, WIDTH), np.uint8)
            for i in range(len(scene.spec.shapes)):
                ids[scene.masks[i, t]] = i + 1
            palette_png(ids, root / "train" / "Annotations" / video_id / f"{name}.png")
        expressions = []
        for k in referred:
            shape = scene.spec.shapes[k - 1]
            expressions.append({"exp": shape.expression, "obj_id": str(k)})
            if k == 1:
                expressions.append({"exp": f"the {shape.color} {shape.shape}", "obj_id": "1"})
        meta_expressions[video_id] = {"expressions": {str(e): x for e, x in enumerate(expressions)}, "frames": [names[t] for t in listed]}
        meta[video_id] = {
            "objects": {
                str(i + 1): {"category": shape.shape, "frames": [names[t] for t in listed if scene.masks[i, t].any()]}
                for i, shape in enumerate(scene.spec.shapes)
            }
        }
        videos[video_id] = Video(scene, names, listed, referred)
    (root / "meta_expressions" / "train").mkdir(parents=True)
    (root / "meta_expressions" / "train" / "meta_expressions.json").write_text(json.dumps({"videos": meta_expressions}))
    if with_meta:
        (root / "train" / "meta.json").write_text(json.dumps({"videos": meta}))
    return videos


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[Path, dict[str, Video]]:
    root = tmp_path_factory.mktemp("ref-youtube-vos")
    return root, build(root)


def test_videos_have_exact_masks_categories_and_expressions(dataset):
    root, videos = dataset
    source = RefYouTubeVOSSource(root)
    assert (source.name, source.video_ids()) == ("ref-youtube-vos", sorted(videos))
    for video_id, expected in videos.items():
        video, scene = source.load(video_id), expected.scene
        assert (video.source, video.video_id, video.kind) == ("ref-youtube-vos", video_id, SourceKind.MASKS_EXPRESSIONS)
        assert video.path == root / "train" / "JPEGImages" / video_id
        frames = read_frames(video.path)
        assert frames.shape == (FRAMES, HEIGHT, WIDTH, 3) and np.abs(frames.astype(int) - scene.frames).mean() < 4
        assert [o.object_id for o in video.objects] == [1, 2, 3]  # every object in the PNGs, referred to or not
        assert [o.label for o in video.objects] == [shape.shape for shape in scene.spec.shapes]
        assert all(o.boxes is None for o in video.objects)
        for obj in video.objects:
            assert len(obj.masks) == FRAMES
            for t in range(FRAMES):
                visible = t in expected.listed and scene.masks[obj.object_id - 1, t].any()
                assert (obj.masks[t] is not None) == visible, (video_id, obj.object_id, t)
                if visible:
                    assert np.array_equal(rle.decode(obj.masks[t]), scene.masks[obj.object_id - 1, t])
        texts = [(e.text, e.object_ids) for e in video.expressions]
        first = scene.spec.shapes[0]
        assert texts[:2] == [(first.expression, (1,)), (f"the {first.color} {first.shape}", (1,))]
        assert texts[2:] == [(scene.spec.shapes[k - 1].expression, (k,)) for k in expected.referred[1:]]


def test_without_meta_json_objects_are_labelled_by_their_first_expression(tmp_path):
    videos = build(tmp_path, with_meta=False)
    video = RefYouTubeVOSSource(tmp_path, name="rytvos").load("2c4e6a8b0d")
    shapes = videos["2c4e6a8b0d"].scene.spec.shapes
    assert [o.label for o in video.objects] == [shapes[0].expression, shapes[1].expression, "object"]
    assert video.source == "rytvos"


def _edit_meta(root: Path, edit) -> None:
    path = root / "meta_expressions" / "train" / "meta_expressions.json"
    data = json.loads(path.read_text())
    edit(data["videos"])
    path.write_text(json.dumps(data))


def _png(root: Path, video_id: str, name: str) -> Path:
    return root / "train" / "Annotations" / video_id / f"{name}.png"


V = "0a1b2c3d4e"
WHERE = f"videos[{V!r}]"


def _missing_png(root):
    _png(root, V, "00010").unlink()
    return _png(root, V, "00010"), f"{WHERE}.frames[2]", "no annotation PNG"


def _small_png(root):
    palette_png(np.zeros((24, 32), np.uint8), _png(root, V, "00010"))
    return _png(root, V, "00010"), f"{WHERE}.frames[2]", "size 32x24 differs from the frame's 64x48"


def _rgb_png(root):
    Image.new("RGB", (WIDTH, HEIGHT)).save(_png(root, V, "00010"))
    return _png(root, V, "00010"), f"{WHERE}.frames[2]", "got mode 'RGB'"


def _corrupt_png(root):
    _png(root, V, "00010").write_bytes(b"\x89PNG not really")
    return _png(root, V, "00010"), f"{WHERE}.frames[2]", "cannot be read as an image"


def _no_annotations(root):
    shutil.rmtree(root / "train" / "Annotations" / V)
    return root / "train" / "Annotations" / V, f"{WHERE}.frames", "no Annotations folder"


def _absent_object(root):
    _edit_meta(root, lambda videos: videos[V]["expressions"]["1"].update(obj_id="9"))
    return "meta_expressions.json", f"{WHERE}.expressions['1'].obj_id", "object 9 has no pixels in any listed frame"


def _object_id_not_a_number(root):
    _edit_meta(root, lambda videos: videos[V]["expressions"]["0"].update(obj_id="one"))
    return "meta_expressions.json", f"{WHERE}.expressions['0'].obj_id", "pixel value"


def _object_id_list(root):  # MeViS's form, not Ref-YouTube-VOS's
    _edit_meta(root, lambda videos: videos[V]["expressions"]["0"].update(obj_id=[1]))
    return "meta_expressions.json", f"{WHERE}.expressions['0'].obj_id", "pixel value"


def _empty_expression(root):
    _edit_meta(root, lambda videos: videos[V]["expressions"]["2"].update(exp=" "))
    return "meta_expressions.json", f"{WHERE}.expressions['2'].exp", "missing or empty"


def _frame_without_image(root):
    _edit_meta(root, lambda videos: videos[V]["frames"].append("00099"))
    return "meta_expressions.json", f"{WHERE}.frames[6]", "00099.jpg is not an image in the frame folder"


def _frame_listed_twice(root):
    _edit_meta(root, lambda videos: videos[V]["frames"].insert(1, "00000"))
    return "meta_expressions.json", f"{WHERE}.frames[1]", "listed twice"


@pytest.mark.parametrize(
    "damage",
    [
        _missing_png,
        _small_png,
        _rgb_png,
        _corrupt_png,
        _no_annotations,
        _absent_object,
        _object_id_not_a_number,
        _object_id_list,
        _empty_expression,
        _frame_without_image,
        _frame_listed_twice,
    ],
)
def test_bad_records_name_the_file_and_field(dataset, tmp_path, damage):
    root = tmp_path / "copy"
    shutil.copytree(dataset[0], root)
    path, field, message = damage(root)
    with pytest.raises(SourceError) as info:
        RefYouTubeVOSSource(root).load(V)
    assert info.value.path.endswith(str(path)) and info.value.field == field
    assert message in info.value.message
    RefYouTubeVOSSource(root).load("1f2e3d4c5b")  # the other videos still load


EXPRESSIONS, META = "meta_expressions/train/meta_expressions.json", "train/meta.json"


@pytest.mark.parametrize(
    "file, content, field",
    [
        (EXPRESSIONS, "{not json", "<json>"),
        (EXPRESSIONS, '{"movies": {}}', "videos"),
        (EXPRESSIONS, '{"videos": []}', "videos"),
        (EXPRESSIONS, None, "<file>"),
        (META, "{not json", "<json>"),
        (META, '{"videos": []}', "videos"),
    ],
)
def test_malformed_json_names_the_file_and_field(dataset, tmp_path, file, content, field):
    root = tmp_path / "copy"
    shutil.copytree(dataset[0], root)
    if content is None:
        (root / file).unlink()
    else:
        (root / file).write_text(content)
    with pytest.raises(SourceError) as info:
        RefYouTubeVOSSource(root)
    assert (info.value.path, info.value.field) == (str(root / file), field)
