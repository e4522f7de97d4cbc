"""A small byte-level BPE tokenizer with a ChatML template, shared by the tiny text and vision-language models.

Byte-level, so any text encodes and decodes back without unknown tokens; trained in milliseconds on a
fixed corpus, so the same vocabulary comes out every time.
"""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

IMAGE_TOKEN = "<image>"
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", IMAGE_TOKEN, "<pad>"]

# ChatML, as Qwen models use; image parts of a message become one <image> placeholder each.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>{% else %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_CORPUS = [
    "a red square moves left while the blue circle rises behind the green triangle",
    "the yellow square and the purple circle crossing paths; an orange triangle moving up",
    "Describe the video in detail. Describe the object. What does the object look like and what is it doing?",
    'Return JSON: {"phrases": ["a man", "the dog"]} with [a man](0) and [the dog](1, 2) tags.',
    "The video shows a person walking a dog on the street, a car passes by.",
]


def build_tokenizer(vocab_size: int = 600) -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPUS * 4, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<pad>")
    fast.chat_template = CHAT_TEMPLATE
    return fast
