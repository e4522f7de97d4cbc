"""The grounding model: shapes, losses, what trains, the parts it is made of, the real-size build."""

import math

import pytest
import torch

from videogcg.annotators import registry
from videogcg.model.architecture import build_on_meta, parameter_counts
from videogcg.model.config import PartsConfig, TrainConfig
from videogcg.model.data import ShardExamples
from videogcg.model.losses import mask_dice, token_cross_entropy
from videogcg.model.parts import PartError, build_parts_on_meta, load_parts


def test_forward_gives_a_mask_per_seg_on_each_sam_frame_and_finite_losses(tiny_model, gcg_dataset):
    model, encoder = tiny_model
    examples = list(ShardExamples.from_directories([gcg_dataset]))[:3]
    batch = encoder.collate([encoder(e) for e in examples])
    model.train()
    out = model(batch)
    assert [tuple(m.shape) for m in out.mask_logits] == [(len(e.masks), 4, 128, 128) for e in examples]
    assert out.ce.shape == out.bce.shape == out.dice.shape == (3,)
    weights = model.config.loss
    assert out.loss.item() == pytest.approx((weights.ce * out.ce + weights.bce * out.bce + weights.dice * out.dice).mean().item(), rel=1e-5)
    out.loss.backward()
    trained = {name for name, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert all(
        p.grad is None
        for p in [*model.image_encoder.parameters(), *model.video_encoder.parameters(), *model.sam.vision_encoder.parameters()]
    )
    assert any("lora_" in n for n in trained) and any(n.startswith("seg_adapter") for n in trained)
    assert any(n.startswith("image_adapter") for n in trained) and any(n.startswith("video_adapter") for n in trained)


def test_the_loss_of_a_batch_is_the_mean_of_its_samples(tiny_model, gcg_dataset):
    """What makes two processes of two samples match one process of four."""
    model, encoder = tiny_model
    model.eval()
    encoded = [encoder(e) for e in list(ShardExamples.from_directories([gcg_dataset]))[:4]]
    with torch.no_grad():
        whole = model(encoder.collate(encoded)).loss.item()
        halves = [model(encoder.collate(encoded[i : i + 2])).loss.item() for i in (0, 2)]
    assert whole == pytest.approx(sum(halves) / 2, rel=1e-5)


def test_videoglamm_default_freezes_encoders_and_sam2(train_config, gcg_dataset):
    from videogcg.model.trainer import Trainer

    config = train_config([gcg_dataset], "model.trainable=[adapters, lora, embeddings, lm_head]")
    model, _ = Trainer(config, "unused").build()
    for part in (model.image_encoder, model.video_encoder, model.sam):
        assert not any(p.requires_grad for p in part.parameters())
    llm = dict(model.llm.named_parameters())
    assert all(p.requires_grad for n, p in llm.items() if "lora_" in n)
    assert model.llm.get_input_embeddings().weight.requires_grad
    assert not any(p.requires_grad for n, p in llm.items() if "layers" in n and "lora_" not in n)
    model.train()
    assert not model.sam.vision_encoder.training and not model.sam.mask_decoder.training and not model.image_encoder.training
    assert model.seg_adapter.training and model.llm.training


def test_an_unknown_or_mismatched_part_fails_before_any_weights_load(model_cache, monkeypatch):
    loads = []
    monkeypatch.setattr(registry, "load", lambda *a, **k: loads.append(a))
    with pytest.raises(PartError, match=r"^model\.parts\.mask_decoder: unknown model spec 'sam3'"):
        load_parts(PartsConfig(mask_decoder="sam3"), model_cache)
    with pytest.raises(PartError, match=r"^model\.parts\.llm: model spec tiny:image_encoder is not a text_llm model"):
        load_parts(PartsConfig(llm="tiny:image_encoder"), model_cache)
    with pytest.raises(PartError, match=r"^model\.parts\.video_encoder: .*is a 'clip_vision_model' checkpoint"):
        load_parts(PartsConfig(video_encoder=registry.tiny_checkpoint("image_encoder", model_cache).as_posix()), model_cache)
    with pytest.raises(PartError, match=r"^model\.parts\.image_encoder: model spec hf:nobody/nothing: cannot read its config"):
        load_parts(PartsConfig(image_encoder="hf:nobody/nothing"), model_cache)
    assert loads == []


def test_config_errors_name_the_key():
    from videogcg.configuration import ConfigError

    with pytest.raises(ConfigError, match=r"^model: Value error, unknown trainable group\(s\) \['decoder'\]"):
        TrainConfig.load(overrides=["model.trainable=[adapters, decoder]"])
    with pytest.raises(ConfigError, match=r"^optim\.steps: "):
        TrainConfig.load(overrides=["optim.steps=0"])


def test_the_videoglamm_configuration_builds_on_meta_with_the_published_sizes():
    config = TrainConfig.load("configs/train/videoglamm.yaml")
    parts = build_parts_on_meta(config.model.parts)
    sizes = {name: sum(p.numel() for p in getattr(parts, name).parameters()) for name in ("image_encoder", "video_encoder", "llm", "sam")}
    assert sizes["llm"] == 3_821_079_552  # Phi-3-mini-4k-instruct, exact
    assert sizes["image_encoder"] == 303_507_456  # CLIP ViT-L/14-336 vision tower
    assert math.isclose(sizes["video_encoder"], 121.26e6, rel_tol=0.01)  # TimeSformer-base
    assert math.isclose(sizes["sam"], 224.4e6, rel_tol=0.01)  # SAM2.1 Hiera-L, "224.4M"
    model = build_on_meta(config.model)
    counts = parameter_counts(model)
    assert counts["image_encoder"]["trainable"] == counts["video_encoder"]["trainable"] == counts["sam2"]["trainable"] == 0
    hidden = 3072
    assert counts["adapters"]["total"] == (1024 * hidden + hidden) + (hidden * hidden + hidden) + (768 * hidden + hidden) + (
        hidden * hidden + hidden
    ) + (hidden * hidden + hidden) + (hidden * 256 + 256)
    assert counts["total"]["total"] == sum(counts[k]["total"] for k in ("image_encoder", "video_encoder", "llm", "sam2", "adapters"))
    assert model.llm.get_input_embeddings().weight.device.type == "meta"  # no memory was spent on weights


def test_token_cross_entropy_is_a_per_sample_mean_over_labelled_tokens():
    logits = torch.zeros(2, 4, 3)
    logits[0, 0, 1] = 10.0  # sample 0 predicts its one label almost surely
    labels = torch.tensor([[-100, 1, -100, -100], [-100, 2, 0, -100]])
    loss = token_cross_entropy(logits, labels)
    assert loss[0].item() == pytest.approx(0.0, abs=1e-3)
    assert loss[1].item() == pytest.approx(math.log(3), rel=1e-5)


def test_dice_is_zero_for_a_perfect_mask_and_one_for_a_disjoint_one():
    target = torch.zeros(1, 8, 8)
    target[0, :4] = 1
    perfect = torch.where(target.bool(), 50.0, -50.0)
    assert mask_dice(perfect, target).item() == pytest.approx(0.0, abs=1e-4)
    assert mask_dice(-perfect, target).item() == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("model_type", ["timesformer", "clip_vision_model"])
def test_pooled_grids_keep_each_frame_and_place_apart(model_type):
    """Tokens that carry their (frame, row, column) in the encoder's own order pool into per-frame grids whose
    cells average only their own frame and quarter."""
    from types import SimpleNamespace

    from videogcg.model.architecture import _pooled_grid

    frames, grid = 3, 4
    position = torch.stack(torch.meshgrid(torch.arange(frames), torch.arange(grid), torch.arange(grid), indexing="ij"), dim=-1).float()
    if model_type == "timesformer":  # patch-major: (row, column, frame)
        body = position.permute(1, 2, 0, 3).reshape(1, -1, 3)
    else:  # frame-major
        body = position.reshape(1, -1, 3)
    tokens = torch.cat([torch.full((1, 1, 3), -1.0), body], dim=1)  # a CLS token first, dropped
    config = SimpleNamespace(model_type=model_type, image_size=32, patch_size=8)
    pooled = _pooled_grid(tokens, config, side=2)  # (frames, 4, 3)
    assert pooled.shape == (frames, 4, 3)
    for frame in range(frames):
        assert pooled[frame, :, 0].tolist() == [frame] * 4
        assert pooled[frame, :, 1:].tolist() == [[0.5, 0.5], [0.5, 2.5], [2.5, 0.5], [2.5, 2.5]]


def test_new_random_weights_must_be_trained():
    from videogcg.configuration import ConfigError

    with pytest.raises(ConfigError, match=r"trainable must include \['adapters'\]"):
        TrainConfig.load(overrides=["model.trainable=[lora, embeddings]"])
