"""Builders of small random-weight checkpoints, one module per family, each with `build(directory)`.

Each builder seeds torch, builds the real architecture from a small config, and writes model + processor
with `save_pretrained`, so tests load them through the same `from_pretrained` code as real checkpoints.
"""
