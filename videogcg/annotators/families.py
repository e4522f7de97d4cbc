"""The built-in model families. Imports of heavy modules happen when a family is used, not here."""

from __future__ import annotations

from pathlib import Path

from videogcg.annotators.registry import Family, register_family


def _auto(class_name: str):
    def load(path: str, **kwargs):
        import transformers

        return getattr(transformers, class_name).from_pretrained(path, **kwargs)

    return load


def _tiny(module: str):
    def build(directory: Path) -> None:
        import importlib

        importlib.import_module(f"videogcg.annotators.tiny.{module}").build(directory)

    return build


register_family(
    Family(
        name="text_llm",
        model_types=("qwen2", "qwen3", "llama", "phi3", "mistral", "gemma2", "gemma3_text"),
        load_model=_auto("AutoModelForCausalLM"),
        load_processor=_auto("AutoTokenizer"),
        build_tiny=_tiny("text_llm"),
    )
)
register_family(
    Family(
        name="vlm",
        model_types=("llava", "qwen2_vl", "qwen2_5_vl", "llava_onevision", "idefics3", "smolvlm"),
        load_model=_auto("AutoModelForImageTextToText"),
        load_processor=_auto("AutoProcessor"),
        build_tiny=_tiny("vlm"),
    )
)
register_family(
    Family(
        name="grounding_dino",
        model_types=("grounding-dino",),
        load_model=_auto("GroundingDinoForObjectDetection"),
        load_processor=_auto("GroundingDinoProcessor"),
        build_tiny=_tiny("grounding_dino"),
    )
)
register_family(
    Family(
        name="sam2_video",
        model_types=("sam2_video",),
        load_model=_auto("Sam2VideoModel"),
        load_processor=None,  # the propagator does its own preprocessing (the transformers one needs torchvision)
        build_tiny=_tiny("sam2_video"),
    )
)
register_family(
    Family(
        name="text_encoder",
        model_types=("bert", "roberta", "modernbert"),
        load_model=_auto("AutoModel"),
        load_processor=_auto("AutoTokenizer"),
        build_tiny=_tiny("text_encoder"),
    )
)


def _vision_tower(path: str, **kwargs):
    """The vision tower of a CLIP or SigLIP checkpoint, whether it holds the tower alone or the whole model."""
    import transformers

    model_type = transformers.AutoConfig.from_pretrained(path, revision=kwargs.get("revision")).model_type
    tower = transformers.SiglipVisionModel if model_type.startswith("siglip") else transformers.CLIPVisionModel
    return tower.from_pretrained(path, **kwargs)


register_family(
    Family(
        name="image_encoder",
        model_types=("clip_vision_model", "clip", "siglip_vision_model", "siglip"),
        load_model=_vision_tower,
        load_processor=None,  # frames are normalised with the checkpoint's mean/std (videogcg.model.inputs)
        build_tiny=_tiny("image_encoder"),
        unused_weight_prefixes=("text_model.", "text_projection", "visual_projection", "logit_scale", "logit_bias"),
    )
)
register_family(
    Family(
        name="video_encoder",
        # One token grid per frame, and any number of frames per chunk (time embeddings interpolate); VideoMAE and
        # ViViT have tubelets and fixed-length position embeddings, which the token layout here does not handle.
        model_types=("timesformer",),
        load_model=_auto("AutoModel"),
        load_processor=None,
        build_tiny=_tiny("video_encoder"),
        unused_weight_prefixes=("classifier.", "fc_norm."),
    )
)
