"""Where a piece of data came from, and what a human made of it."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue


class ReviewState(str, Enum):
    """How far a piece of data has been checked, from machine output to a human decision."""

    AUTO = "auto"  # produced automatically, not checked
    AUTO_VERIFIED = "auto_verified"  # passed the automatic checks
    HUMAN_ACCEPTED = "human_accepted"  # a person looked and kept it as is
    HUMAN_EDITED = "human_edited"  # a person changed it
    REJECTED = "rejected"  # a person (or a check) threw it out


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Provenance(BaseModel):
    """Who produced a value: a source dataset, a model (name + revision) or a person, with the parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    kind: Literal["source", "model", "human", "rule"]
    name: str = Field(min_length=1, description="dataset name, model spec, annotator id or rule name")
    revision: str | None = None
    parameters: dict[str, JsonValue] = Field(default_factory=dict)
    created_at: AwareDatetime = Field(default_factory=utc_now)
