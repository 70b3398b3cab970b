"""`build.py pdf MANIFEST`: dist/<deck>.pdf through Chromium's print, one page per slide.

The deck's own print CSS lays every slide out as one 16:9 page. `--no-steps`
keeps only the last step of incremental slides (handouts); `--notes` puts the
presenter notes under each slide on a taller page.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .browser import ChromiumNotFound, chromium_path
from .check import OFFLINE_ARGS
from .diagnostics import os_error_line

NOTES_PAGE_HEIGHT = 1024   # px: the 908x512 slide on top, its notes below

# Slides whose next slide is a later step of the same slide are dropped.
DROP_STEPS_JS = r"""
(drop) => {
  const slides = Array.from(document.getElementsByClassName('remark-slide-container'));
  for (const n of drop) slides[n - 1].remove();
  return document.getElementsByClassName('remark-slide-container').length;
}
"""

NOTES_JS = r"""
(height) => {
  const st = document.createElement('style');
  st.textContent = '@page { size: 908px ' + height + 'px; margin: 0 }' +
    '@media print { .remark-slide-container { height: ' + height + 'px !important }' +
    ' .labdeck-print-notes { display: block !important; position: absolute; left: 0; right: 0; top: 512px; bottom: 0;' +
    '   overflow: hidden; box-sizing: border-box; padding: 16px 56px; border-top: 1px solid #999;' +
    '   font: 16px/1.4 system-ui, "DejaVu Sans", sans-serif; color: #222; background: #fff }' +
    ' .labdeck-print-notes pre { white-space: pre-wrap } }' +
    '.labdeck-print-notes { display: none }';
  document.head.appendChild(st);
  for (const el of document.getElementsByClassName('remark-slide-container')) {
    const div = document.createElement('div');
    div.className = 'labdeck-print-notes';
    const tpl = el.querySelector('template.remark-slide-notes');
    if (tpl) div.appendChild(tpl.content.cloneNode(true));
    el.appendChild(div);
  }
}
"""

# Lazy images of hidden slides would print blank: load them all first.
EAGER_IMAGES_JS = r"""
() => Promise.race([
  Promise.all(Array.from(document.images).map(img => {
    img.loading = 'eager';
    return img.complete ? null : new Promise(r => { img.onload = img.onerror = r; });
  })),
  new Promise(r => setTimeout(r, 15000))
])
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="build.py pdf", description="Print a deck to PDF through Chromium.")
    p.add_argument("manifest", type=Path, metavar="MANIFEST")
    p.add_argument("--out", type=Path, default=Path("dist"), metavar="DIR", help="output folder (default: dist)")
    p.add_argument("--source", type=Path, metavar="DIR", help="source root (default: the manifest's folder)")
    p.add_argument("--notes", action="store_true", help="print the presenter notes under each slide")
    p.add_argument("--no-steps", action="store_true",
                   help="only the last step of each incremental slide (handouts)")
    p.add_argument("--browser", metavar="PATH", help="Chromium to use")
    return p


def steps_to_drop(slide_list: list[dict]) -> list[int]:
    """Numbers of the slides whose next slide continues them (step > 0)."""
    return [s["number"] for s, nxt in zip(slide_list, slide_list[1:]) if nxt.get("step", 0) > 0]


def print_pdf(html: Path, pdf: Path, slide_list: list[dict], *, notes: bool = False, no_steps: bool = False,
              browser_path: str | None = None) -> int:
    """Print `html` to `pdf`; returns the number of slides printed (= pages)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(browser_path), args=OFFLINE_ARGS)
        try:
            page = browser.new_page(viewport={"width": 908, "height": 512})
            # nothing leaves the machine: remote pictures print as missing
            page.route(lambda url: not url.startswith(("file:", "data:", "blob:", "about:")),
                       lambda route: route.abort("blockedbyclient"))
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.evaluate(EAGER_IMAGES_JS)
            drop = steps_to_drop(slide_list) if no_steps else []
            count = page.evaluate(DROP_STEPS_JS, drop)
            if notes:
                page.evaluate(NOTES_JS, NOTES_PAGE_HEIGHT)
            pdf.parent.mkdir(parents=True, exist_ok=True)
            tmp = pdf.with_name(f".{pdf.name}.tmp")
            page.pdf(path=str(tmp), prefer_css_page_size=True, print_background=True)
            tmp.replace(pdf)
        finally:
            browser.close()
    return count


def main(argv: list[str]) -> int:
    # In a thread of its own when the caller already drives Playwright (tests, notebooks).
    from .browser import run_isolated
    return run_isolated(_main, argv)


def _main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from .build import build, print_diagnostics
    from .manifest import display_path

    try:
        chromium_path(args.browser)
    except ChromiumNotFound as e:
        print(f"build.py pdf: error: {e}", file=sys.stderr)
        return 2
    try:
        result = build([args.manifest], args.out, args.source, quiet=True)
    except OSError as e:            # an --out that cannot be written: one line, no traceback
        print(os_error_line(e, args.out), file=sys.stderr)
        return 2
    print_diagnostics(result)
    if not result.ok:
        print(f"build.py pdf: error: {args.manifest}: the build failed, no PDF written", file=sys.stderr)
        return 1
    from .check import built_stems
    [stem] = built_stems(result, [args.manifest])
    summary = json.loads((args.out / "build.json").read_text(encoding="utf-8"))["decks"][stem]
    pdf = args.out / f"{stem}.pdf"
    count = print_pdf(args.out / summary["html"], pdf, summary["slide_list"], notes=args.notes,
                      no_steps=args.no_steps, browser_path=args.browser)

    from pypdf import PdfReader
    pages = len(PdfReader(str(pdf)).pages)
    if pages != count:
        print(f"{display_path(args.manifest)}:1: error: {pdf} has {pages} pages for {count} slides "
              "(a slide does not fit its page)", file=sys.stderr)
        return 1
    print(f"{stem}: {pages} pages → {display_path(pdf)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
