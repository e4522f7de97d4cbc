"""Teach a tiny random-weight text model fixed replies, so the success paths of LLM annotators run for real.

A 2-layer model memorises a few prompt -> reply pairs in about a second; it is then saved and loaded back
through the registry's local-directory path like any checkpoint.
"""

from pathlib import Path

import torch

from videogcg.annotators.registry import load


def teach_text_llm(examples: list[tuple[str, str]], directory: Path, cache_dir: Path, steps: int = 200) -> str:
    """Fine-tune tiny:text_llm on (user prompt, reply) pairs; returns the local model spec."""
    loaded = load("tiny:text_llm", "text_llm", cache_dir=cache_dir)
    tokenizer, model = loaded.processor, loaded.model
    batch = []
    for prompt, reply in examples:
        chat = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False)
        prompt_ids = tokenizer(chat)["input_ids"]
        reply_ids = tokenizer(reply + tokenizer.eos_token)["input_ids"]
        ids = torch.tensor([prompt_ids + reply_ids])
        labels = ids.clone()
        labels[:, : len(prompt_ids)] = -100
        batch.append((ids, labels))
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        loss = sum(model(input_ids=ids, labels=labels).loss for ids, labels in batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return f"local:{directory}"
