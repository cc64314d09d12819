"""Building blocks of the HTML report: escaping, tables, embedded PNGs, a Markdown subset, the style sheet.

Standard library only. Everything that ends up in the page goes through :func:`esc` (or is
built here from escaped parts), and every image is a ``data:image/png;base64`` URI, so the
page is one self-contained file that loads nothing from the network (its
Content-Security-Policy forbids it).
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from pathlib import Path
from typing import Any, Sequence

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def esc(x: Any) -> str:
    """HTML-escaped ``str(x)`` (quotes too, so it is safe inside attributes)."""
    return html.escape(str(x), quote=True)


def fmt_value(v: Any, digits: int = 3) -> str:
    """A cell value as text: floats to ``digits`` places, None as ``—``, dicts as ``k: v`` pairs."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.{digits}f}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {fmt_value(x, digits)}" for k, x in v.items()) or "none"
    if isinstance(v, (list, tuple)):
        return ", ".join(fmt_value(x, digits) for x in v) or "none"
    return str(v)


def table(head: Sequence[str], rows: Sequence[Sequence[str]], *, cls: str = "", caption: str | None = None,
          escape: bool = True, numeric: Sequence[bool] | None = None) -> str:
    """An HTML table. ``rows`` hold cell texts (escaped unless ``escape=False``: then they are HTML already).

    ``numeric[j]`` right-aligns column ``j``.
    """
    def cell(tag: str, text: str, j: int) -> str:
        attr = ' class="num"' if numeric is not None and j < len(numeric) and numeric[j] else ""
        return f"<{tag}{attr}>{esc(text) if escape else text}</{tag}>"

    out = [f"<table class=\"{esc(cls)}\">" if cls else "<table>"]
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<thead><tr>" + "".join(cell("th", h, j) for j, h in enumerate(head)) + "</tr></thead>")
    out.append("<tbody>")
    out += ["<tr>" + "".join(cell("td", c, j) for j, c in enumerate(r)) + "</tr>" for r in rows]
    out.append("</tbody></table>")
    return "\n".join(out)


def figure_png(fig) -> bytes:
    """Render a matplotlib :class:`~matplotlib.figure.Figure` to PNG bytes in memory (Agg canvas, dpi 110)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def png_img(png: bytes, alt: str) -> str:
    """``<img>`` with the PNG inlined as a base64 data URI."""
    return (f"<img alt=\"{esc(alt)}\" src=\"data:image/png;base64,{base64.b64encode(png).decode('ascii')}\">")


def figure_block(png: bytes, caption: str) -> str:
    return f"<figure>{png_img(png, caption)}<figcaption>{esc(caption)}</figcaption></figure>"


def box(kind: str, title: str, lines: Sequence[str]) -> str:
    """A highlighted box: ``kind`` is ``warning`` (something is wrong with the input) or ``note``."""
    items = "".join(f"<li>{esc(l)}</li>" for l in lines)
    return f"<div class=\"box {esc(kind)}\" role=\"{'alert' if kind == 'warning' else 'note'}\">" \
           f"<strong>{esc(title)}</strong><ul>{items}</ul></div>"


def details(summary: str, body_html: str, *, open_: bool = False) -> str:
    return f"<details{' open' if open_ else ''}><summary>{esc(summary)}</summary>{body_html}</details>"


# -- a Markdown subset: what labeldist's own *.md outputs use -----------------------------------------

_SEP = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _inline(text: str) -> str:
    """Escape, then ``**bold**`` and `` `code` `` (the only inline markup labeldist writes)."""
    t = esc(text)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)


def _cells(line: str) -> list[str]:
    """Split one Markdown table row on unescaped ``|``; ``\\|`` is a literal bar."""
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]


def _md_table(lines: list[str]) -> str:
    head = _cells(lines[0])
    body = lines[1:]
    numeric = [False] * len(head)
    if body and _SEP.match(body[0]):
        numeric = [c.endswith(":") and not c.startswith(":") for c in _cells(body[0])]
        body = body[1:]
    rows = [_cells(l) for l in body]
    rows = [r + [""] * (len(head) - len(r)) for r in rows]
    return table([_inline(h) for h in head], [[_inline(c) for c in r[:len(head)]] for r in rows],
                 escape=False, numeric=numeric, cls="md")


def markdown_to_html(md: str) -> str:
    """Headings (``#``), pipe tables, ``-`` lists and paragraphs as HTML; other text is kept, escaped.

    >>> markdown_to_html("| a | b |\\n|---|---:|\\n| x \\\\| y | **1** |")
    '<table class="md">\\n<thead><tr><th>a</th><th class="num">b</th></tr></thead>\\n<tbody>\\n<tr><td>x | y</td><td class="num"><strong>1</strong></td></tr>\\n</tbody></table>'
    """
    out: list[str] = []
    lines = md.splitlines()
    i = 0
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append("<p>" + _inline(" ".join(para)) + "</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if s.startswith("|"):
            flush()
            j = i
            while j < len(lines) and lines[j].strip().startswith("|"):
                j += 1
            out.append(_md_table([l.strip() for l in lines[i:j]]))
            i = j
            continue
        m = re.match(r"^(#{1,6})\s+(.*)$", s)
        if m:
            flush()
            level = min(6, len(m.group(1)) + 2)  # page headings own h1/h2
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
        elif s.startswith(("- ", "* ")):
            flush()
            items = []
            while i < len(lines) and lines[i].strip().startswith(("- ", "* ")):
                items.append(f"<li>{_inline(lines[i].strip()[2:])}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
            continue
        elif not s:
            flush()
        else:
            para.append(s)
        i += 1
    flush()
    return "\n".join(out)


def read_png(path: Path) -> bytes | None:
    """The file's bytes if it is a PNG (by its magic number), else None."""
    data = path.read_bytes()
    return data if data[:8] == PNG_MAGIC else None


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1320px;
       padding: 0 24px 48px; color: #1b1f24; line-height: 1.4; }
header { border-bottom: 2px solid #d0d7de; margin-bottom: 16px; }
h1 { font-size: 1.6em; margin: 20px 0 4px; }
h2 { font-size: 1.3em; margin-top: 36px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
h3 { font-size: 1.1em; margin-top: 24px; }
h4, h5, h6 { font-size: 1em; }
.meta { color: #57606a; font-size: 0.9em; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.86em; }
th, td { border: 1px solid #d0d7de; padding: 3px 7px; vertical-align: top; text-align: left; }
th { background: #f6f8fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.best { font-weight: bold; background: #dafbe1; }
.ci { color: #57606a; font-size: 0.9em; white-space: nowrap; }
table.probs td.num { min-width: 3.2em; }
table.kv th { width: 15em; }
.box { border-left: 5px solid; padding: 6px 12px; margin: 10px 0; border-radius: 3px; }
.box ul { margin: 4px 0; padding-left: 20px; }
.box.warning { border-color: #bf8700; background: #fff8c5; }
.box.error { border-color: #cf222e; background: #ffebe9; }
.box.note { border-color: #0969da; background: #ddf4ff; }
figure { margin: 12px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { color: #57606a; font-size: 0.85em; }
.example { border: 1px solid #d0d7de; border-radius: 4px; padding: 6px 12px; margin: 10px 0; }
.example .text { font-style: italic; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.85em; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; max-height: 420px; }
nav ul { columns: 2; }
details > summary { cursor: pointer; color: #0969da; margin: 6px 0; }
"""
