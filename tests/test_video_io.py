import numpy as np
import pytest

from videogcg.video_io import VideoReadError, encode_mp4, probe, read_frames, write_mp4


def gradient_frames(count, height, width):
    ys, xs = np.mgrid[0:height, 0:width]
    frames = np.stack([(xs * 3 + ys * 2 + 10 * t) % 256 for t in range(count)]).astype(np.uint8)
    return np.repeat(frames[..., None], 3, axis=-1)


@pytest.mark.parametrize("width", [48, 64, 75])  # 48: decord 0.6 cannot copy it, PyAV decodes instead
def test_encode_then_decode_keeps_size_count_and_content(width):
    frames = gradient_frames(6, 40, width)
    data = encode_mp4(frames, fps=5, crf=10)
    decoded = read_frames(data)
    assert decoded.shape == (6, 40, width + width % 2, 3)  # odd sides are padded by one pixel
    assert np.abs(decoded[:, :40, :width].astype(int) - frames).mean() < 4
    info = probe(data)
    assert (info.num_frames, info.fps, info.height) == (6, 5.0, 40)


def test_selected_frames_come_back_in_the_order_asked(tmp_path):
    frames = gradient_frames(10, 32, 32)
    path = tmp_path / "v.mp4"
    write_mp4(path, frames, fps=10, crf=0)
    all_frames = read_frames(path)
    np.testing.assert_array_equal(read_frames(path, [7, 2]), all_frames[[7, 2]])
    np.testing.assert_array_equal(read_frames(path, [9]), all_frames[[9]])  # sparse: seek path


@pytest.mark.parametrize(
    "content, reason",
    [(None, "does not exist"), (b"", "empty"), (b"\x00\x01garbage" * 50, "cannot be decoded")],
)
def test_unreadable_videos_name_the_file(tmp_path, content, reason):
    path = tmp_path / "bad.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(VideoReadError, match=reason) as info:
        read_frames(path)
    assert info.value.source == str(path)


def test_truncated_video_is_an_error(tmp_path):
    data = encode_mp4(gradient_frames(8, 32, 32), fps=10)
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoReadError, match="cut.mp4"):
        read_frames(path)


def test_frame_out_of_range_is_an_error():
    data = encode_mp4(gradient_frames(4, 32, 32), fps=10)
    with pytest.raises(VideoReadError, match="frame 4 requested, video has 4 frames"):
        read_frames(data, [0, 4])


def test_encode_rejects_wrong_input():
    with pytest.raises(ValueError, match="uint8"):
        encode_mp4(np.zeros((2, 8, 8, 3), np.float32), fps=10)
    with pytest.raises(ValueError, match="no frames"):
        encode_mp4(np.zeros((0, 8, 8, 3), np.uint8), fps=10)


def test_a_folder_of_frame_images_reads_like_a_video(tmp_path):
    from PIL import Image

    from videogcg.schemas import content_hash

    frames = gradient_frames(5, 24, 32)
    for t, frame in enumerate(frames):
        Image.fromarray(frame).save(tmp_path / f"{t:05d}.png")
    (tmp_path / "notes.txt").write_text("not a frame")
    info = probe(tmp_path)
    assert (info.num_frames, info.width, info.height) == (5, 32, 24)
    np.testing.assert_array_equal(read_frames(tmp_path), frames)  # PNG is lossless
    np.testing.assert_array_equal(read_frames(tmp_path, [4, 1]), frames[[4, 1]])
    before = content_hash(tmp_path)
    Image.fromarray(frames[0][::-1].copy()).save(tmp_path / "00000.png")
    assert content_hash(tmp_path) != before
    with pytest.raises(VideoReadError, match="frame 5 requested, folder has 5 frames"):
        read_frames(tmp_path, [5])


def test_broken_frame_folders_are_named(tmp_path):
    with pytest.raises(VideoReadError, match="holds no frame images"):
        read_frames(tmp_path)
    (tmp_path / "00000.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(VideoReadError, match="00000.jpg: cannot be read as an image"):
        read_frames(tmp_path)
