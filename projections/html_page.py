"""The HTML report's page: sections, figures, tables and the document around them.

A page is self-contained: one inline style sheet, inline SVG charts, no script, no link to
anything outside itself (no CDN, no web font, no image file). Text is escaped with the
standard library's ``html.escape``; numbers are written with a fixed format, so the same
data gives the same bytes.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

NUMBER_FORMAT = ".6g"
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;
background:#fafbfc;line-height:1.45}
main{max-width:980px;margin:0 auto;padding:1.5rem 1.25rem 4rem}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.2rem;margin:2.2rem 0 .6rem;
border-bottom:1px solid #d8dee4;padding-bottom:.2rem}h3{font-size:1rem;margin:1.4rem 0 .4rem}
.anchor{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem;
word-break:break-all;color:#57606a}
nav ol{margin:.3rem 0;padding-left:1.4rem}nav{background:#fff;border:1px solid #d8dee4;
border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
figure{margin:1rem 0;background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:.5rem}
figure svg{display:block;width:100%;height:auto;max-width:820px;margin:0 auto}
figcaption{font-size:.85rem;color:#57606a;margin-top:.3rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0;background:#fff}
th,td{border:1px solid #d8dee4;padding:.2rem .5rem;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f0f3f6}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em}
.note{font-size:.85rem;color:#57606a}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:.8rem}
.grid figure{margin:0}.scroll{overflow-x:auto}
"""


@dataclass(frozen=True)
class Section:
    """One part of a page: its anchor id, heading and HTML body."""

    id: str
    title: str
    body: str


def esc(value: Any) -> str:
    """Text for HTML (quotes escaped too)."""
    return html.escape(str(value), quote=True)


def number(value: Any) -> str:
    """A table cell's text: floats in a fixed short form, None as ``-``, containers as compact
    JSON, the rest as their text."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, NUMBER_FORMAT)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table; numeric cells are right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for value in row:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            css = ' class="num"' if numeric else ""
            cells.append(f"<td{css}>{esc(number(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    rendered = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="scroll">{rendered}</div>\n'


def pairs(rows: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of named values (names as row headers)."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(number(v))}</td></tr>" for k, v in rows)
    return f"<table><tbody>{body}</tbody></table>\n"


def figure(chart: str, svg: str, caption: str) -> str:
    """A chart with its caption (plain text, escaped); ``chart`` names it for readers and
    tests (``data-chart``)."""
    return (
        f'<figure data-chart="{esc(chart)}">\n{svg}\n'
        f"<figcaption>{esc(caption)}</figcaption></figure>\n"
    )


def grid(figures: Sequence[str]) -> str:
    """Small figures side by side (as many per row as the page width allows)."""
    return '<div class="grid">\n' + "".join(figures) + "</div>\n"


def note(text: str) -> str:
    """A short paragraph of plain text."""
    return f'<p class="note">{esc(text)}</p>\n'


def page(title: str, anchor_html: str, sections: Sequence[Section]) -> str:
    """The whole document: title, anchor line, table of contents, then each section."""
    toc = "".join(f'<li><a href="#{esc(s.id)}">{esc(s.title)}</a></li>' for s in sections)
    parts = [
        "<!DOCTYPE html>\n",
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        f'<h1>{esc(title)}</h1>\n<p class="anchor">{anchor_html}</p>\n',
        f'<nav aria-label="Contents"><strong>Contents</strong><ol>{toc}</ol></nav>\n',
    ]
    for section in sections:
        parts.append(
            f'<section id="{esc(section.id)}">\n<h2>{esc(section.title)}</h2>\n'
            f"{section.body}</section>\n"
        )
    parts.append("</main>\n</body>\n</html>\n")
    return "".join(parts)
