"""The VideoGLaMM-style model: dual vision encoders -> V->L adapters -> LLM (LoRA) -> `[SEG]` hidden states ->
L->V adapter -> SAM2 mask decoder, one mask per `[SEG]` on each supervised frame.

Visual tokens, per chunk of `chunk_frames` frames: the image encoder's pooled patch tokens of each frame
(context), then the video encoder's pooled tokens of the chunk, as VideoGPT+ arranges them. They replace the
prompt's video placeholder. The last hidden state that predicts each `[SEG]` becomes one sparse prompt token of SAM2's mask
decoder, which decodes every supervised frame separately (no memory), as VideoGLaMM trains it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from videogcg.model.config import ModelConfig
from videogcg.model.inputs import IGNORE, SEG_TOKEN, VISUAL_ID, Batch
from videogcg.model.losses import mask_bce, mask_dice, token_cross_entropy
from videogcg.model.parts import Parts, build_parts_on_meta

logger = logging.getLogger(__name__)


def mlp2x_gelu(inputs: int, outputs: int) -> nn.Sequential:
    """The V->L projector of LLaVA / VideoGPT+ (`mlp2x_gelu`)."""
    return nn.Sequential(nn.Linear(inputs, outputs), nn.GELU(), nn.Linear(outputs, outputs))


@dataclass
class ModelOutput:
    loss: torch.Tensor  # scalar: the weighted sum, mean over samples
    ce: torch.Tensor  # (B,) per sample
    bce: torch.Tensor  # (B,) per sample (0 for samples without masks)
    dice: torch.Tensor  # (B,)
    mask_logits: list[torch.Tensor]  # per sample (K, Ts, S, S) at SAM's input size


class GroundingModel(nn.Module):
    def __init__(self, parts: Parts, config: ModelConfig, seg_token_id: int | None = None):
        """`seg_token_id`: the tokenizer's `[SEG]` id (None on the meta device: one row is added for it)."""
        super().__init__()
        self.config = config
        self.image_encoder = parts.image_encoder
        self.video_encoder = parts.video_encoder
        self.sam = parts.sam
        self.sam.mask_decoder.dynamic_multimask_via_stability = False  # one mask per prompt, in training and eval alike
        llm = parts.llm
        rows = llm.get_input_embeddings().num_embeddings
        if seg_token_id is None:
            seg_token_id = rows
        if seg_token_id >= rows:  # mean resizing samples the new row from the old ones' statistics; meta tensors have none
            llm.resize_token_embeddings(seg_token_id + 1, mean_resizing=llm.device.type != "meta")
        self.seg_token_id = seg_token_id
        if config.lora is not None:
            from peft import LoraConfig, get_peft_model

            lora = config.lora
            llm = get_peft_model(
                llm,
                LoraConfig(
                    r=lora.rank,
                    lora_alpha=lora.alpha,
                    lora_dropout=lora.dropout,
                    target_modules=list(lora.target_modules),
                    task_type="CAUSAL_LM",
                ),
            )
        self.llm = llm
        hidden = llm.config.hidden_size
        self.image_adapter = mlp2x_gelu(self.image_encoder.config.hidden_size, hidden)
        self.video_adapter = mlp2x_gelu(self.video_encoder.config.hidden_size, hidden)
        sam_hidden = self.sam.config.mask_decoder_config.hidden_size
        self.seg_adapter = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, sam_hidden))
        self._set_trainable(config.trainable)

    # -- what is trained ---------------------------------------------------------------------------------

    def groups(self) -> dict[str, list[nn.Parameter]]:
        """The parameters of each trainable group name (see config.TRAINABLE_GROUPS)."""
        named_llm = list(self.llm.named_parameters())
        return {
            "adapters": [*self.image_adapter.parameters(), *self.video_adapter.parameters(), *self.seg_adapter.parameters()],
            "lora": [p for n, p in named_llm if "lora_" in n],
            "embeddings": [self.llm.get_input_embeddings().weight],
            "lm_head": [self.llm.get_output_embeddings().weight],
            "llm": [p for n, p in named_llm if "lora_" not in n],
            "image_encoder": list(self.image_encoder.parameters()),
            "video_encoder": list(self.video_encoder.parameters()),
            "mask_decoder": list(self.sam.mask_decoder.parameters()),
            "sam2_encoder": list(self.sam.vision_encoder.parameters()),
        }

    def _set_trainable(self, names: tuple[str, ...]) -> None:
        self.requires_grad_(False)
        groups = self.groups()
        for name in names:
            for parameter in groups[name]:
                parameter.requires_grad_(True)

    def train(self, mode: bool = True) -> GroundingModel:
        """Frozen parts stay in eval mode (no dropout, fixed statistics) while the rest trains."""
        super().train(mode)
        for module in (self.image_encoder, self.video_encoder, self.sam.vision_encoder, self.sam.mask_decoder):
            if not _trains(module):
                module.eval()
        return self

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """The trained weights only, by name: what a checkpoint stores."""
        return {name: p.detach() for name, p in self.named_parameters() if p.requires_grad}

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None:
        own = dict(self.named_parameters())
        expected = {name for name, p in own.items() if p.requires_grad}
        if set(state) != expected:
            missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
            raise ValueError(f"checkpoint does not match the trainable parameters: missing {missing[:5]}, unexpected {extra[:5]}")
        with torch.no_grad():
            for name, value in state.items():
                own[name].copy_(value)

    # -- forward -----------------------------------------------------------------------------------------

    def visual_tokens(self, image_pixels: torch.Tensor, video_pixels: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, S, S) frames for each encoder -> (B, N, hidden) visual tokens in LLM space."""
        batch, frames = image_pixels.shape[:2]
        chunk = self.config.chunk_frames
        with torch.set_grad_enabled(torch.is_grad_enabled() and _trains(self.image_encoder)):
            states = self.image_encoder(pixel_values=image_pixels.flatten(0, 1), output_hidden_states=True).hidden_states
        image = _pooled_grid(states[self.config.image_layer], self.image_encoder.config, self.config.image_tokens_per_side)
        with torch.set_grad_enabled(torch.is_grad_enabled() and _trains(self.video_encoder)):
            chunks = video_pixels.reshape(batch * frames // chunk, chunk, *video_pixels.shape[2:])
            video = self.video_encoder(pixel_values=chunks).last_hidden_state
        video = _pooled_grid(video, self.video_encoder.config, self.config.video_tokens_per_side)  # (chunks * slots, p*p, C)
        image = self.image_adapter(image).reshape(batch, frames // chunk, -1, self.llm.config.hidden_size)
        video = self.video_adapter(video).reshape(batch, frames // chunk, -1, self.llm.config.hidden_size)
        return torch.cat([image, video], dim=2).flatten(1, 2)

    def _sequences(self, batch: Batch, visual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Splice the visual tokens into each row: (embeddings, labels, attention mask, [SEG] positions per row)."""
        embed = self.llm.get_input_embeddings()
        rows, labels, segs = [], [], []
        for b in range(len(batch)):
            real = batch.attention_mask[b].bool()
            ids, row_labels = batch.input_ids[b][real], batch.labels[b][real]
            at = int((ids == VISUAL_ID).nonzero()[0])
            text = embed(ids.clamp(min=0))
            vis = visual[b].to(text.dtype)
            rows.append(torch.cat([text[:at], vis, text[at + 1 :]]))
            labels.append(torch.cat([row_labels[:at], row_labels.new_full((len(vis),), IGNORE), row_labels[at + 1 :]]))
            # The hidden state that predicts each [SEG] (the token before it), as LISA and VideoGLaMM take it.
            seg = (ids == self.seg_token_id).nonzero().flatten() - 1
            segs.append(torch.where(seg > at, seg + len(vis) - 1, seg))
        length = max(len(r) for r in rows)
        embeddings = rows[0].new_zeros((len(rows), length, rows[0].shape[-1]))
        label_tensor = batch.labels.new_full((len(rows), length), IGNORE)
        attention = batch.attention_mask.new_zeros((len(rows), length))
        for b, (row, row_labels) in enumerate(zip(rows, labels)):
            embeddings[b, : len(row)], label_tensor[b, : len(row)], attention[b, : len(row)] = row, row_labels, 1
        return embeddings, label_tensor, attention, segs

    def sam_features(self, pixels: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(N, 3, S, S) -> SAM2's lowest-resolution image embedding (N, C, h, w) and its two high-resolution maps."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and _trains(self.sam.vision_encoder)):
            maps = self.sam.vision_encoder(pixels, return_dict=True).fpn_hidden_states
        decoder = self.sam.mask_decoder
        low = maps[-1] + self.sam.no_memory_embedding.view(1, -1, 1, 1)
        return low, [decoder.conv_s0(maps[0]), decoder.conv_s1(maps[1])]

    def decode_masks(
        self, hidden: torch.Tensor, segs: list[torch.Tensor], sam_pixels: torch.Tensor, counts: list[int]
    ) -> list[torch.Tensor]:
        """Mask logits (K, Ts, S, S) per sample for its first `counts[b]` `[SEG]`s."""
        batch, frames, size = sam_pixels.shape[0], sam_pixels.shape[1], sam_pixels.shape[-1]
        low, high = self.sam_features(sam_pixels.flatten(0, 1))
        positional = self.sam.get_image_wide_positional_embeddings().to(low.dtype)
        dense = self.sam.prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(frames, -1, *low.shape[-2:])
        outputs = []
        for b in range(batch):
            count = counts[b]
            if count == 0:
                outputs.append(low.new_zeros((0, frames, size, size)))
                continue
            prompts = self.seg_adapter(hidden[b, segs[b][:count]])  # (K, C)
            frame_slice = slice(b * frames, (b + 1) * frames)
            masks = self.sam.mask_decoder(
                image_embeddings=low[frame_slice],
                image_positional_embeddings=positional.expand(frames, -1, -1, -1),
                sparse_prompt_embeddings=prompts[None, :, None, :].expand(frames, -1, -1, -1).to(low.dtype),
                dense_prompt_embeddings=dense.to(low.dtype),
                multimask_output=False,
                high_resolution_features=[h[frame_slice] for h in high],
            )[0]  # (Ts, K, 1, h', w')
            masks = F.interpolate(masks[:, :, 0].float(), size=(size, size), mode="bilinear", align_corners=False)
            outputs.append(masks.transpose(0, 1))
        return outputs

    def prompt_embeddings(
        self, batch: Batch, visual: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """The LLM's input: (embeddings, labels, attention mask, [SEG] positions per row), visual tokens spliced in
        (`visual`, when the caller already has them for these frames)."""
        if visual is None:
            visual = self.visual_tokens(batch.image_pixels, batch.video_pixels)
        return self._sequences(batch, visual)

    def forward(self, batch: Batch) -> ModelOutput:
        embeddings, labels, attention, segs = self.prompt_embeddings(batch)
        output = self.llm(inputs_embeds=embeddings, attention_mask=attention, output_hidden_states=True)
        ce = token_cross_entropy(output.logits, labels)
        counts = [len(m) for m in batch.masks]
        for b, count in enumerate(counts):
            if len(segs[b]) < count:
                raise ValueError(f"{batch.keys[b]}: {len(segs[b])} {SEG_TOKEN} tokens for {count} masks")
        mask_logits = self.decode_masks(output.hidden_states[-1], segs, batch.sam_pixels, counts)
        zero = ce.new_zeros(())
        bce = torch.stack([mask_bce(lg, m) if len(m) else zero for lg, m in zip(mask_logits, batch.masks)])
        dice = torch.stack([mask_dice(lg, m) if len(m) else zero for lg, m in zip(mask_logits, batch.masks)])
        weights = self.config.loss
        loss = (weights.ce * ce + weights.bce * bce + weights.dice * dice).mean()
        return ModelOutput(loss, ce.detach(), bce.detach(), dice.detach(), mask_logits)


def build_on_meta(config: ModelConfig) -> GroundingModel:
    """The whole model with no weights (torch's meta device), from the parts' architecture configs."""
    parts = build_parts_on_meta(config.parts)
    with torch.device("meta"):
        return GroundingModel(parts, config)


def parameter_counts(model: GroundingModel) -> dict[str, dict[str, int]]:
    """{module: {"total": n, "trainable": n}} for the parts, the adapters and the whole model."""
    modules = {
        "image_encoder": model.image_encoder,
        "video_encoder": model.video_encoder,
        "llm": model.llm,
        "sam2": model.sam,
        "adapters": nn.ModuleList([model.image_adapter, model.video_adapter, model.seg_adapter]),
        "total": model,
    }
    return {
        name: {"total": sum(p.numel() for p in m.parameters()), "trainable": sum(p.numel() for p in m.parameters() if p.requires_grad)}
        for name, m in modules.items()
    }


def _trains(module: nn.Module) -> bool:
    return any(p.requires_grad for p in module.parameters())


def _pooled_grid(tokens: torch.Tensor, config, side: int) -> torch.Tensor:
    """(N, prefix + slots * g * g, C) encoder tokens (g = image_size / patch_size; the prefix, e.g. a CLS token,
    is dropped) -> (N * slots, side * side, C), each frame's g x g grid average-pooled to side x side.

    A slot is a frame. TimeSformer orders its tokens patch-major ((h, w, frame)); the image towers have one
    frame."""
    image_size = config.image_size if isinstance(config.image_size, int) else config.image_size[0]
    patch = config.patch_size if isinstance(config.patch_size, int) else config.patch_size[-1]
    grid = image_size // patch
    count, length, channels = tokens.shape
    slots = length // (grid * grid)
    body = tokens[:, length - slots * grid * grid :]
    if config.model_type == "timesformer":
        maps = body.reshape(count, grid, grid, slots, channels).permute(0, 3, 1, 2, 4)
    else:
        maps = body.reshape(count, slots, grid, grid, channels)
    maps = maps.reshape(count * slots, grid, grid, channels).permute(0, 3, 1, 2)
    return F.adaptive_avg_pool2d(maps, side).flatten(2).transpose(1, 2)
