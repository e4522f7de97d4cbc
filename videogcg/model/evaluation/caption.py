"""CIDEr-D (Vedantam et al. 2015, as the COCO caption toolkit computes it), the caption metric VideoGLaMM reports.

Per candidate: for n = 1..4, TF-IDF vectors of its n-grams and of each reference's (document frequencies over
the references of the whole evaluated set), the candidate's counts clipped to the reference's, cosine
similarity times a Gaussian penalty on the length difference (sigma 6); averaged over references and n,
times 10. Captions are lower-cased and split on whitespace after removing punctuation; VideoGLaMM cuts
them at 2,000 characters first.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

MAX_N = 4
SIGMA = 6.0
MAX_CHARS = 2000
_PUNCTUATION = re.compile(r"[^\w\s]")


def tokens(text: str) -> list[str]:
    return _PUNCTUATION.sub(" ", text[:MAX_CHARS].lower()).split()


def _ngrams(words: list[str]) -> list[Counter]:
    return [Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1)) for n in range(1, MAX_N + 1)]


def cider_d(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> tuple[float, list[float]]:
    """Corpus CIDEr-D and the per-candidate scores; `references[i]` are candidate i's reference captions."""
    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates for {len(references)} sets of references")
    ref_grams = [[_ngrams(tokens(r)) for r in refs] for refs in references]
    frequency: Counter = Counter()
    for refs in ref_grams:
        frequency.update({gram for grams in refs for counts in grams for gram in counts})
    log_count = math.log(float(len(candidates))) if candidates else 0.0

    def vector(counts: Counter) -> tuple[dict, float]:
        weights = {g: c * (log_count - math.log(max(1.0, frequency[g]))) for g, c in counts.items()}
        return weights, math.sqrt(sum(w * w for w in weights.values()))

    scores = []
    for candidate, refs in zip(candidates, ref_grams):
        words = tokens(candidate)
        grams = _ngrams(words)
        total = 0.0
        for ref_counts in refs:
            ref_length = sum(ref_counts[0].values())
            delta = len(words) - ref_length
            for n in range(MAX_N):
                vc, norm_c = vector(grams[n])
                vr, norm_r = vector(ref_counts[n])
                dot = sum(min(vc[g], vr[g]) * vr[g] for g in vc if g in vr)
                if norm_c and norm_r:
                    total += dot / (norm_c * norm_r) * math.exp(-(delta**2) / (2 * SIGMA**2))
        scores.append(total / MAX_N / len(refs) * 10.0 if refs else 0.0)
    return (sum(scores) / len(scores) if scores else 0.0), scores
