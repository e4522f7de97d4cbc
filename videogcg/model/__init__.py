"""The VideoGLaMM-style model, its shard data loader, training loop and evaluation. Not built yet."""
