"""Text fields, grounded phrases and conversation turns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from videogcg.schemas.errors import FieldError
from videogcg.schemas.provenance import Provenance, ReviewState


class TextField(BaseModel):
    """A piece of text with where it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    text: str
    provenance: Provenance
    review: ReviewState = ReviewState.AUTO


class GroundedPhrase(BaseModel):
    """A character span [start, end) of an answer, grounded to one or more object tracks.

    Several object ids mean the phrase's mask is the union of those objects' masks (as VideoGLaMM merges
    them). `text` repeats the span's text so files stay readable and edits are detected.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    start: int = Field(ge=0)
    end: int = Field(gt=0)
    text: str = Field(min_length=1)
    object_ids: tuple[int, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_span(self) -> GroundedPhrase:
        if self.end - self.start != len(self.text):
            raise FieldError("end", f"span [{self.start}, {self.end}) does not have the length of {self.text!r}")
        if self.text != self.text.strip():
            raise FieldError("text", f"phrase {self.text!r} starts or ends with whitespace")
        if len(set(self.object_ids)) != len(self.object_ids):
            raise FieldError("object_ids", f"repeated object id in {self.object_ids}")
        return self


class Turn(BaseModel):
    """One question and its grounded answer. Phrases are sorted by position, never overlap."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    question: TextField
    answer: TextField
    phrases: tuple[GroundedPhrase, ...] = ()

    @model_validator(mode="after")
    def _check_phrases(self) -> Turn:
        text = self.answer.text
        previous_end = 0
        for i, phrase in enumerate(self.phrases):
            where = f"phrases[{i}]"
            if phrase.end > len(text):
                raise FieldError(where, f"span [{phrase.start}, {phrase.end}) outside the answer ({len(text)} chars)")
            if phrase.start < previous_end:
                raise FieldError(where, f"span [{phrase.start}, {phrase.end}) overlaps or precedes the one before")
            if text[phrase.start : phrase.end] != phrase.text:
                raise FieldError(
                    where, f"answer has {text[phrase.start : phrase.end]!r} at [{phrase.start}, {phrase.end}), not {phrase.text!r}"
                )
            previous_end = phrase.end
        return self
