"""The report's charts, drawn with matplotlib's object API (a bare `Figure`, whose PNG output goes through the
Agg renderer: no pyplot state, no display, no global backend switch) and returned as PNG data URIs."""

from __future__ import annotations

import base64
import io
from collections import Counter
from dataclasses import dataclass

from matplotlib.figure import Figure

_SIZE = (5.2, 3.2)
_DPI = 96
_COLOR = "#3b7dd8"
_ROUTE_COLORS = {"accept": "#2e9e4f", "review": "#e0a020", "drop": "#d04040"}


@dataclass(frozen=True)
class Plot:
    """One chart: `image` is a PNG data URI, or None when there was nothing to draw."""

    id: str
    title: str
    caption: str
    image: str | None


def to_data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(title: str, xlabel: str, ylabel: str):
    figure = Figure(figsize=_SIZE, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=11)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(axis="y", alpha=0.3)
    return figure, axes


def count_bars(values: list[int], title: str, xlabel: str, ylabel: str) -> str | None:
    """Bars of how often each integer value occurs (every value between the least and the most shown)."""
    if not values:
        return None
    counts = Counter(values)
    xs = list(range(min(counts), max(counts) + 1))
    figure, axes = _figure(title, xlabel, ylabel)
    axes.bar(xs, [counts.get(x, 0) for x in xs], color=_COLOR, width=0.8)
    axes.set_xticks(xs if len(xs) <= 20 else xs[:: -(-len(xs) // 20)])
    return to_data_uri(figure)


def histogram(values: list[float], title: str, xlabel: str, ylabel: str, value_range=(0.0, 1.0), bins: int = 25) -> str | None:
    if not values:
        return None
    figure, axes = _figure(title, xlabel, ylabel)
    axes.hist(values, bins=bins, range=value_range, color=_COLOR)
    return to_data_uri(figure)


def stacked_histogram(groups: dict[str, list[float]], title: str, xlabel: str, ylabel: str, bins: int = 20) -> str | None:
    """One histogram per group (e.g. verifier route), stacked, with a legend."""
    groups = {name: values for name, values in sorted(groups.items()) if values}
    if not groups:
        return None
    figure, axes = _figure(title, xlabel, ylabel)
    names = list(groups)
    axes.hist(
        [groups[n] for n in names],
        bins=bins,
        range=(0.0, 1.0),
        stacked=True,
        label=[f"{n} ({len(groups[n])})" for n in names],
        color=[_ROUTE_COLORS.get(n, "#888888") for n in names],
    )
    axes.legend(fontsize=8)
    return to_data_uri(figure)


def top_bars(counts: Counter, title: str, top: int = 15) -> str | None:
    """Horizontal bars of the `top` most frequent items, the most frequent on top."""
    items = counts.most_common(top)
    if not items:
        return None
    labels = [text if len(text) <= 40 else text[:39] + "…" for text, _ in items][::-1]
    figure = Figure(figsize=(_SIZE[0], max(_SIZE[1], 0.25 * len(items) + 1)), layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=11)
    axes.barh(range(len(items)), [n for _, n in items][::-1], color=_COLOR)
    axes.set_yticks(range(len(items)), labels, fontsize=8)
    axes.set_xlabel("occurrences")
    axes.grid(axis="x", alpha=0.3)
    return to_data_uri(figure)
