"""The report as one self-contained HTML page: every value escaped here, images embedded as data URIs."""

from __future__ import annotations

from html import escape

from videogcg.report.gallery import GalleryItem
from videogcg.report.plots import Plot

TOTALS = ("samples", "videos", "objects", "masks", "frames", "phrases", "shards", "dropped", "failures")

_CSS = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1em 2em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
nav a { margin-right: 1em; } .note { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.5em 1.5em 1em 0; display: inline-table; vertical-align: top; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
caption { font-weight: 600; text-align: left; padding-bottom: 0.3em; white-space: nowrap; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; } figure { margin: 0; }
figure.plot { border: 1px solid #eee; padding: 0.4em; } figure.plot img { display: block; max-width: 100%; }
figcaption { font-size: 0.85em; color: #555; max-width: 500px; }
.gallery-item { margin: 1.5em 0; } .gallery-item img { max-width: 100%; display: block; }
.turns { background: #181818; color: #fff; padding: 0.5em 1em; font-family: ui-monospace, monospace; font-size: 0.9em; }
.turns p { margin: 0.3em 0; } .question { color: #ddd; } .phrase { font-weight: 600; } .ids { font-size: 0.8em; margin-left: 0.1em; }
.message { font-family: ui-monospace, monospace; font-size: 0.85em; white-space: pre-wrap; word-break: break-word; }
"""


def _n(value: int) -> str:
    return f'<td class="n" data-value="{int(value)}">{int(value):,}</td>'


def count_table(table_id: str, caption: str, counts: dict[str, int], header: str = "name") -> str:
    if not counts:
        return f'<table id="{escape(table_id)}"><caption>{escape(caption)}</caption><tr><td class="empty">none</td></tr></table>'
    rows = "".join(f'<tr data-name="{escape(str(k))}"><td>{escape(str(k))}</td>{_n(v)}</tr>' for k, v in counts.items())
    return (
        f'<table id="{escape(table_id)}"><caption>{escape(caption)}</caption><tr><th>{escape(header)}</th><th>count</th></tr>{rows}</table>'
    )


def numbers_section(numbers: dict) -> str:
    totals = "".join(f'<tr data-name="{name}"><th>{name}</th>{_n(numbers[name])}</tr>' for name in TOTALS)
    return (
        '<section id="numbers"><h2>Numbers</h2>'
        '<p class="note">All samples, from the Parquet manifests and the dead-letter records; no tar is opened for these.</p>'
        f'<table id="totals"><caption>totals</caption>{totals}</table>'
        + count_table("by-source", "samples by source", numbers["sources"], "source")
        + count_table("by-route", "samples by verifier route", numbers["routes"], "route")
        + count_table("by-review-state", "samples by review state", numbers["review_states"], "review state")
        + "</section>"
    )


def plots_section(plots: list[Plot], note: str) -> str:
    figures = []
    for plot in plots:
        body = (
            f'<img class="plot" src="{plot.image}" alt="{escape(plot.title)}">'
            if plot.image
            else f'<p class="empty">{escape(plot.title)}: no data</p>'
        )
        figures.append(f'<figure class="plot" id="plot-{escape(plot.id)}">{body}<figcaption>{escape(plot.caption)}</figcaption></figure>')
    return f'<section id="plots"><h2>Plots</h2><p class="note">{escape(note)}</p><div class="plots">{"".join(figures)}</div></section>'


def dead_letters_section(by_reason: dict[str, int], dropped: dict[str, int], failures: list[dict], shown: int) -> str:
    rows = "".join(
        f"<tr><td>{escape(str(f.get('video_id')))}</td><td>{escape(str(f.get('stage')))}</td><td>{escape(str(f.get('error')))}</td>"
        f'<td class="message">{escape(str(f.get("message")))}</td></tr>'
        for f in failures[:shown]
    )
    listing = ""
    if failures:
        more = f" (the first {shown} of {len(failures)})" if len(failures) > shown else ""
        listing = (
            f'<table id="failures"><caption>failed videos{more}</caption>'
            f"<tr><th>video</th><th>stage</th><th>error</th><th>message</th></tr>{rows}</table>"
        )
    return (
        '<section id="dead-letters"><h2>Dead letters</h2>'
        '<p class="note">Videos that failed (dead letters, by "stage: error") and samples the verifier dropped '
        "(by reason, numbers and quoted phrases masked), from the shards' records files.</p>"
        + count_table("failures-by-reason", "failures by reason", by_reason, "stage: error")
        + count_table("dropped-by-reason", "dropped samples by reason", dropped, "reason")
        + listing
        + "</section>"
    )


def gallery_section(items: list[GalleryItem], note: str) -> str:
    figures = "".join(
        f'<figure class="gallery-item" data-key="{escape(item.key)}">'
        f'<img class="preview" src="{item.image}" alt="{escape(item.key)}">'
        f'<figcaption>{escape(item.caption)}</figcaption><div class="turns">{"".join(item.turns_html)}</div></figure>'
        for item in items
    )
    empty = "" if items else '<p class="empty">no samples</p>'
    return f'<section id="gallery"><h2>Gallery</h2><p class="note">{escape(note)}</p>{empty}{figures}</section>'


def render_page(title: str, subtitle: str, sections: list[str]) -> str:
    links = "".join(
        f'<a href="#{i}">{label}</a>'
        for i, label in (("numbers", "numbers"), ("plots", "plots"), ("dead-letters", "dead letters"), ("gallery", "gallery"))
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>{escape(title)}</h1><p class="note">{escape(subtitle)}</p><nav>{links}</nav></header>'
        + "".join(sections)
        + "</body></html>\n"
    )
