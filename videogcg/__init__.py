"""videogcg: build grounded video-conversation (GCG) datasets and train a pixel-grounding model on them."""

__version__ = "0.1.0"
