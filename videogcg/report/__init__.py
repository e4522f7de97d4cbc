"""`videogcg report`: one static HTML page describing a dataset directory (counts, plots, dead letters, gallery).

Modules: `selection` (which samples to read, and reading only those), `stats` (the figures), `plots`
(matplotlib charts as data URIs), `gallery` (previews and coloured answers), `page` (the HTML), `build`.
"""

from videogcg.report.build import build_report, write_report

__all__ = ["build_report", "write_report"]
