"""Label Studio's brush RLE: masks as it stores `brushlabels` regions, encoded and decoded here (pixel-exact).

The format is thi.ng's `rle-pack` over the RGBA bytes of the mask image (H * W * 4 values, 8-bit words):
a header of the value count (32 bits), the word size - 1 (5 bits) and four run-length field widths - 1
(4 bits each), then records. A record starts with a bit: 1 = a run (2 bits choose the width of the length
field, then the length - 1, then the value), 0 = literals (the same length header, then that many values).
We write runs only, with the field widths Label Studio's own encoder uses (3, 4, 8, 16 bits). Only the
alpha channel carries the mask; strokes a reviewer paints may be antialiased, so alpha >= 128 counts as in.
"""

from __future__ import annotations

import numpy as np

RUN_FIELD_BITS = (3, 4, 8, 16)
WORD_BITS = 8
_MAX_RUN = 1 << RUN_FIELD_BITS[-1]


class BrushFormatError(ValueError):
    """Bytes that are not a brush RLE of the expected image size."""


def encode(mask: np.ndarray) -> list[int]:
    """A (H, W) boolean mask as Label Studio brush RLE bytes (RGBA, 255 where the mask is)."""
    values = np.repeat(np.asarray(mask, dtype=bool).ravel().astype(np.uint8) * 255, 4)
    bounds = np.flatnonzero(np.diff(values)) + 1
    starts = np.concatenate([[0], bounds])
    lengths = np.diff(np.concatenate([starts, [values.size]]))
    header = f"{values.size:032b}{WORD_BITS - 1:05b}" + "".join(f"{b - 1:04b}" for b in RUN_FIELD_BITS)
    parts = [header]
    for start, length in zip(starts.tolist(), lengths.tolist()):
        value = f"{int(values[start]):08b}"
        while length > 0:
            chunk = min(length, _MAX_RUN)
            field = next(i for i, bits in enumerate(RUN_FIELD_BITS) if chunk - 1 < 1 << bits)
            parts.append(f"1{field:02b}{chunk - 1:0{RUN_FIELD_BITS[field]}b}{value}")
            length -= chunk
    bits = "".join(parts)
    bits += "0" * (8 - len(bits) % 8)  # 1 to 8 zero bits, as Label Studio's own encoder pads
    return list(int(bits, 2).to_bytes(len(bits) // 8, "big"))


class _Bits:
    """Big-endian bit fields, read from a '0'/'1' string (slicing it keeps each read cheap)."""

    def __init__(self, data: bytes):
        self.text = (np.unpackbits(np.frombuffer(data, dtype=np.uint8)) + ord("0")).tobytes().decode("ascii")
        self.position = 0

    def read(self, count: int) -> int:
        end = self.position + count
        if end > len(self.text):
            raise BrushFormatError(f"brush RLE ends at bit {len(self.text)}, a field needs bits up to {end}")
        value = int(self.text[self.position : end], 2)
        self.position = end
        return value


def decode(rle: list[int] | bytes, height: int, width: int) -> np.ndarray:
    """Brush RLE bytes back to a (height, width) boolean mask; raises BrushFormatError on a size mismatch."""
    try:
        bits = _Bits(bytes(rle))
    except (TypeError, ValueError) as error:
        raise BrushFormatError(f"brush RLE must be a list of byte values ({error})") from None
    count, word = bits.read(32), bits.read(5) + 1
    if count != height * width * 4:
        raise BrushFormatError(f"brush RLE holds {count} RGBA values, an image of {width}x{height} needs {height * width * 4}")
    fields = [bits.read(4) + 1 for _ in range(4)]
    out = np.zeros(count, dtype=np.uint32)
    i = 0
    while i < count:
        is_run = bits.read(1)
        end = i + 1 + bits.read(fields[bits.read(2)])
        if end > count:
            raise BrushFormatError(f"brush RLE record runs to value {end}, past the image's {count}")
        if is_run:
            out[i:end] = bits.read(word)
        else:
            for k in range(i, end):
                out[k] = bits.read(word)
        i = end
    return out.reshape(height, width, 4)[:, :, 3] >= 128
