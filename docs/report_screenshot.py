"""Make the README's report screenshot: `labeldist report` of some run directories, rendered in headless Chromium.

    .venv/bin/python docs/report_screenshot.py runs/repro-qwen2.5-0.5b/* \
        --html /tmp/report.html --png docs/report-screenshot.png

Fails (exit 1) if the page logs a console error or an image does not decode, so the
screenshot is always of a page that passed the browser check. The PNG is reduced to a
256-colour palette (Pillow, which matplotlib already needs) to keep it small.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dirs", nargs="+")
    p.add_argument("--html", type=Path, required=True, help="where to write the report")
    p.add_argument("--png", type=Path, required=True, help="where to write the screenshot")
    p.add_argument("--title", default=None)
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=1700, help="CSS pixels from the top of the page")
    args = p.parse_args(argv)

    from PIL import Image

    from labeldist.report.browser import check_page
    from labeldist.report.html import write_report

    report = write_report(args.run_dirs, args.html, title=args.title)
    check = check_page(args.html, screenshot=True, width=args.width, clip_height=args.height)
    broken = [i["alt"] for i in check.dom["imgs"] if not (i["complete"] and i["width"] and i["scheme"] == "data")]
    if check.console_errors or broken or len(check.dom["imgs"]) != report.n_images:
        print(f"browser check failed: console errors {check.console_errors}, broken images {broken}", file=sys.stderr)
        return 1
    img = Image.open(io.BytesIO(check.screenshot)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    args.png.parent.mkdir(parents=True, exist_ok=True)
    img.save(args.png, optimize=True)
    print(f"{args.html}: {report.n_sections} sections, {report.n_images} images, no console errors; "
          f"{args.png}: {img.width}x{img.height}, {args.png.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
