"""The report in a real browser: headless Chromium loads the page; every table and image is there, every
image decodes, and nothing lands on the console. Negative tests prove the check fails on a broken page.

Run alone: ``python -m pytest -q tests/report/test_report_browser.py`` (needs ``chromium`` on PATH;
``bash install.sh --test`` installs Debian's package).
"""

import base64
import struct

import pytest

from labeldist.report.browser import PageCheck, check_page, chromium_missing_reason
from labeldist.report.html import build_report
from labeldist.report.html_parts import PNG_MAGIC
from tests.report.helpers import Page, make_run, png_bytes

MISSING = chromium_missing_reason()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"headless Chromium check skipped: {MISSING}")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])  # IHDR width, height


def problems(check: PageCheck) -> list[str]:
    """Everything a reader would see broken: console errors, and images that are not decoded inline PNGs."""
    out = list(check.console_errors)
    for img in check.dom.get("imgs", []):
        if img["scheme"] != "data":
            out.append(f"image {img['alt']!r} is not embedded ({img['src_head']})")
        if not img["complete"] or img["width"] == 0 or img["height"] == 0:
            out.append(f"image {img['alt']!r} did not decode")
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    a = make_run(tmp / "a", model="m1", texts=["<b>not bold</b> & \"quoted\""])
    b = make_run(tmp / "b", model="m2", seed=1, n=12, n_examples=16, complete=False)  # incomplete: own scores
    c = make_run(tmp / "c", dataset="other", labels=("pos", "neg"), multilabel=False)
    (a / "analysis").mkdir()
    (a / "analysis" / "order.png").write_bytes(png_bytes(120, 80))
    (a / "analysis" / "order.md").write_text("| step | accuracy |\n|---|---:|\n| 1 | 0.750 |\n")
    rep = build_report([a, b, c], n_boot=30, n_examples=2)
    path = tmp / "report.html"
    rep.write(path)
    return rep, path


def test_report_renders_in_chromium_with_every_table_and_image(report):
    rep, path = report
    check = check_page(path, screenshot=True, clip_height=1400)
    assert problems(check) == []
    page = Page(rep.html)
    dom = check.dom
    assert dom["title"] == page_title(rep.html) and dom["scripts"] == 0
    assert dom["h2"] == page.headings["h2"] and dom["h2"][0] == "Overview" and len(dom["h2"]) == 3
    # every image of the file is in the page, decoded at the PNG's own size
    assert len(dom["imgs"]) == len(page.imgs) == rep.n_images == 2 + 2 + 2 + 1
    for shown, img in zip(dom["imgs"], page.imgs):
        data = base64.b64decode(img["src"].split(",", 1)[1])
        assert (shown["width"], shown["height"]) == png_size(data)
    # every table; the score tables have their best cells marked
    assert [t["cls"] for t in dom["tables"]] == page.tables
    scores = [t for t in dom["tables"] if t["cls"] == "scores"]
    assert len(scores) >= 3 and all(t["best"] >= 1 and t["rows"] > 2 for t in scores)
    assert any(t["cls"] == "md" and t["rows"] == 2 for t in dom["tables"])
    boxes = " ".join(b["text"] for b in dom["boxes"])
    assert "is incomplete (12 of 16 items recorded" in boxes and "cannot be scored together" in boxes
    width, height = png_size(check.screenshot)
    assert width == 1280 and height == 1400


def page_title(html: str) -> str:
    import html as h

    return h.unescape(html.split("<title>", 1)[1].split("</title>", 1)[0])


def _variant(path, tmp_path, name, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    out = tmp_path / f"{name}.html"
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


def test_the_check_fails_on_a_page_that_throws(tmp_path):
    page = tmp_path / "throws.html"
    page.write_text("<!DOCTYPE html><html><body><p>hi</p><script>console.error('logged'); "
                    "undefinedFunction();</script></body></html>")
    errors = problems(check_page(page))
    assert any("console.error: logged" in e for e in errors)
    assert any(e.startswith("exception: ReferenceError: undefinedFunction is not defined") for e in errors)


def test_the_check_fails_on_broken_variants_of_the_report(report, tmp_path):
    _, path = report
    # a script smuggled into the report: the page's policy blocks it, and the block is an error
    bad = _variant(path, tmp_path, "script", "</body>", "<script>document.title = 'x';</script></body>")
    assert any("Content Security Policy" in e for e in problems(check_page(bad)))
    # an image that is not embedded: blocked by the policy and not decoded
    bad = _variant(path, tmp_path, "external", "<img alt=", "<img src=\"https://example.invalid/x.png\" alt=")
    errs = problems(check_page(bad))
    assert any("is not embedded" in e for e in errs) and any("Content Security Policy" in e for e in errs)
    # an embedded image whose data is not a PNG: no console message, but it does not decode
    bad = _variant(path, tmp_path, "corrupt", "data:image/png;base64,iVBOR", "data:image/png;base64,AAAAiVBOR")
    assert any("did not decode" in e for e in problems(check_page(bad)))
