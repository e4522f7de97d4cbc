"""Real-size architectures with random weights, built from the configs in configs/models/ (no download).

They give real timings on this machine; their outputs are meaningless. Tokenizers and processors are the
tiny ones, with the image geometry of the real checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import transformers

from videogcg.annotators.registry import LoadedModel, ModelSpec

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "models"


def architecture(name: str):
    data = json.loads((CONFIGS / name).read_text())
    model_type = data.pop("model_type")
    data.pop("architectures", None)
    return transformers.CONFIG_MAPPING[model_type](**data)


def random_model(name: str, model_class: str, family: str, processor, dtype: torch.dtype = torch.float32, **overrides) -> LoadedModel:
    config = architecture(name)
    for key, value in overrides.items():
        setattr(config, key, value)
    torch.manual_seed(0)
    model = getattr(transformers, model_class)(config).to(dtype).eval()
    return LoadedModel(ModelSpec("local", f"random:{name}"), family, model, processor, None, torch.device("cpu"), dtype)


def text_llm() -> LoadedModel:
    from videogcg.annotators.tiny.tokenizer import build_tokenizer

    return random_model("qwen2.5-1.5b-instruct.json", "Qwen2ForCausalLM", "text_llm", build_tokenizer())


def vlm() -> LoadedModel:
    from transformers import LlavaProcessor
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    from videogcg.annotators.tiny.tokenizer import CHAT_TEMPLATE, IMAGE_TOKEN, build_tokenizer

    tokenizer = build_tokenizer()
    config = architecture("llava-interleave-qwen-0.5b.json")
    size = config.vision_config.image_size
    processor = LlavaProcessor(
        image_processor=SiglipImageProcessorPil(size={"height": size, "width": size}),
        tokenizer=tokenizer,
        patch_size=config.vision_config.patch_size,
        vision_feature_select_strategy="full",
        num_additional_image_tokens=0,
        chat_template=CHAT_TEMPLATE,
        image_token=IMAGE_TOKEN,
    )
    image_token = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    return random_model("llava-interleave-qwen-0.5b.json", "LlavaForConditionalGeneration", "vlm", processor, image_token_id=image_token)


def grounding_dino() -> LoadedModel:
    from transformers import BertTokenizer, GroundingDinoProcessor
    from transformers.models.grounding_dino.image_processing_pil_grounding_dino import GroundingDinoImageProcessorPil

    from videogcg.annotators.tiny.grounding_dino import vocabulary

    tokenizer = BertTokenizer(vocab={token: i for i, token in enumerate(vocabulary())})
    processor = GroundingDinoProcessor(image_processor=GroundingDinoImageProcessorPil(), tokenizer=tokenizer)  # 800 / 1333 px
    return random_model("grounding-dino-tiny.json", "GroundingDinoForObjectDetection", "grounding_dino", processor)


def sam2_video() -> LoadedModel:
    return random_model("sam2.1-hiera-tiny.json", "Sam2VideoModel", "sam2_video", None)


BUILDERS = {"text_llm": text_llm, "vlm": vlm, "grounding_dino": grounding_dino, "sam2_video": sam2_video}


def save_checkpoint(family: str, directory: Path, reply_words: str = "", reply_tokens: int = 0) -> Path:
    """Save a random real-size model as a local checkpoint the registry loads like a downloaded one.

    A random generative model tends to stop at once or repeat one symbol, which would make generation look
    cheaper than a real checkpoint's and leave later stages nothing to work on. With ``reply_words`` it only
    generates those words (no bigram twice) and at least ``reply_tokens`` tokens: replies of realistic length
    whose noun phrases the later stages ground and track. All other ids stay in the output layer, so the
    cost per token is the real one.
    """
    if (directory / "config.json").exists():
        return directory
    loaded = BUILDERS[family]()
    if reply_words or reply_tokens:
        _restrict_replies(loaded, reply_words, reply_tokens)
    loaded.model.save_pretrained(directory)
    if loaded.processor is not None:
        loaded.processor.save_pretrained(directory)
    return directory


def _restrict_replies(loaded: LoadedModel, reply_words: str, reply_tokens: int) -> None:
    config = loaded.model.generation_config
    if reply_words:
        tokenizer = getattr(loaded.processor, "tokenizer", loaded.processor)
        allowed = {i for word in reply_words.split() for i in tokenizer(" " + word)["input_ids"]}
        vocab = loaded.model.config.get_text_config().vocab_size
        config.suppress_tokens = [i for i in range(vocab) if i not in allowed]
        config.no_repeat_ngram_size = 2
    if reply_tokens:
        config.min_new_tokens = reply_tokens
