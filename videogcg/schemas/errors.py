"""Errors raised by the data contract.

Every error names *where* the problem is: the sample key (or file) and the field path, so a failure in a
run of thousands of samples can be traced to one record.
"""

from __future__ import annotations


class FieldError(ValueError):
    """A value that breaks the contract, with the dotted path of the field it sits in."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidSampleError(Exception):
    """A sample that does not validate. Not a ValueError on purpose: pydantic must not swallow it."""

    def __init__(self, key: str | None, field: str, message: str):
        super().__init__(f"sample {key!r}: field {field!r}: {message}")
        self.key = key
        self.field = field
        self.message = message


class MarkupError(ValueError):
    """GCG markup that cannot be parsed or rendered; `position` is a character offset into the text."""

    def __init__(self, message: str, position: int | None = None, text: str | None = None):
        where = ""
        if position is not None:
            where = f" at character {position}"
            if text is not None:
                where += f" (near {text[max(0, position - 15) : position + 15]!r})"
        super().__init__(f"{message}{where}")
        self.position = position
