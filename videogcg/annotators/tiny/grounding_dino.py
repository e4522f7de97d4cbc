"""A small random-weight Grounding DINO: the real architecture (Swin backbone, BERT text encoder,
deformable encoder/decoder, two-stage query selection) at toy width and depth.

The vocabulary keeps bert-base-uncased's ids for [PAD], [UNK], [CLS], [SEP], [MASK] and the ASCII
characters, because transformers' Grounding DINO hard-codes the ids of [CLS] (101), [SEP] (102), "." (1012)
and "?" (1029) to split the prompt into phrases (`SPECIAL_TOKENS` in modeling_grounding_dino.py). Whole
words follow, and "##" continuation pieces for every letter and digit, so any lowercase ASCII word
tokenizes without [UNK].
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import (
    BertConfig,
    BertTokenizer,
    GroundingDinoConfig,
    GroundingDinoForObjectDetection,
    GroundingDinoImageProcessorPil,
    GroundingDinoProcessor,
    SwinConfig,
)

# Token ids that GroundingDinoModel treats as phrase delimiters; the vocabulary must agree with them.
SEPARATOR_TOKEN_IDS = {"[CLS]": 101, "[SEP]": 102, ".": 1012, "?": 1029}

_WORDS = """
a an the this that these those some any each every all both other another one two three four five six seven eight nine ten
and or but of in on at to from by with without into onto over under above below behind between near next through across
around along toward towards against inside outside beside up down left right front back top bottom middle center side edge
is are was were be been being has have had do does did can will would should could may might not no yes it its they them
their he she him her his we our you your i my me there here who which what where when while then than as so very too also
red green blue yellow purple orange black white gray grey brown pink gold silver dark light bright pale
square circle triangle rectangle box ball cube disk ring star line dot shape shapes object objects
person people man men woman women boy girl child children kid baby player players crowd hand hands arm head face leg
dog dogs cat cats bird birds horse horses cow cows sheep fish bear elephant zebra giraffe monkey lion tiger duck animal
car cars truck bus bike bicycle motorcycle train boat plane airplane vehicle wheel road street sidewalk bridge
table chair sofa couch bed door window wall floor ceiling room kitchen house building tree trees grass flower field water
river lake sea beach sky cloud sun snow rock hill mountain park garden fence sign light lamp screen phone cup bottle bag
shirt hat jacket dress shoe shoes glasses ball racket bat frisbee kite umbrella book paper food plate bowl knife fork
move moves moving moved go goes going went come comes coming run runs running walk walks walking jump jumps jumping
turn turns turning stop stops stand stands standing sit sits sitting hold holds holding carry carries carrying play plays
playing ride rides riding throw throws throwing catch catches push pushes pull pulls look looks looking watch watches
enter enters entering leave leaves leaving appear appears disappear disappears cross crosses crossing pass passes passing
follow follows following chase chases chasing slide slides sliding roll rolls rolling fly flies flying swim swims
first second third last big small large little tall short long wide round flat  new old young
slowly quickly fast slow still again away together apart frame video scene clip camera view image picture
"""
_CONTINUATIONS = [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"]


def vocabulary() -> list[str]:
    """Tokens in id order: bert-base-uncased's first 1067 slots (specials, unused, ASCII), then words."""
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += [f"[unused{i}]" for i in range(99, 994)]  # ids 104-998
    vocab += [chr(c) for c in range(33, 127) if not "A" <= chr(c) <= "Z"]  # uncased: no capitals
    seen = set(vocab)
    for word in _WORDS.split():
        if word not in seen:
            vocab.append(word)
            seen.add(word)
    vocab += _CONTINUATIONS
    for token, token_id in SEPARATOR_TOKEN_IDS.items():
        if vocab[token_id] != token:
            raise AssertionError(f"tiny vocabulary puts {token!r} at id {vocab.index(token)}, the model expects {token_id}")
    return vocab


def config(vocab_size: int) -> GroundingDinoConfig:
    """Grounding DINO tiny's layout (Swin stages 2-4 + one extra level, two-stage, shared box head) at toy size."""
    backbone = SwinConfig(
        image_size=128,
        patch_size=4,
        embed_dim=16,
        depths=[1, 1, 1, 1],
        num_heads=[1, 2, 2, 4],
        window_size=4,
        out_indices=[2, 3, 4],
    )
    text = BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
    )
    return GroundingDinoConfig(
        backbone_config=backbone,
        text_config=text,
        num_queries=50,
        d_model=32,  # a multiple of 32: the input projections use GroupNorm(32, d_model)
        encoder_layers=1,
        decoder_layers=2,  # the decoder's box refinement needs at least two layers
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_n_points=2,
        decoder_n_points=2,
        max_text_len=256,
    )


def build(directory: Path) -> None:
    """Write a seeded random-weight Grounding DINO checkpoint + processor into `directory`."""
    torch.manual_seed(0)
    vocab = vocabulary()
    tokenizer = BertTokenizer(vocab={token: i for i, token in enumerate(vocab)})
    image_processor = GroundingDinoImageProcessorPil(size={"shortest_edge": 128, "longest_edge": 160})
    processor = GroundingDinoProcessor(image_processor=image_processor, tokenizer=tokenizer)
    model = GroundingDinoForObjectDetection(config(len(vocab))).eval()
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
