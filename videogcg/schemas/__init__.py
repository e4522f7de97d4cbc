"""The data contract every videogcg component writes and reads."""

from videogcg.schemas.conversation import GroundedPhrase, TextField, Turn
from videogcg.schemas.errors import FieldError, InvalidSampleError, MarkupError
from videogcg.schemas.masklet import Box, Masklet
from videogcg.schemas.masks import RLE
from videogcg.schemas.provenance import Provenance, ReviewState
from videogcg.schemas.sample import SCHEMA_VERSION, Sample, sample_key
from videogcg.schemas.video import Clip, VideoRef, content_hash

__all__ = [
    "RLE",
    "SCHEMA_VERSION",
    "Box",
    "Clip",
    "FieldError",
    "GroundedPhrase",
    "InvalidSampleError",
    "MarkupError",
    "Masklet",
    "Provenance",
    "ReviewState",
    "Sample",
    "TextField",
    "Turn",
    "VideoRef",
    "content_hash",
    "sample_key",
]
