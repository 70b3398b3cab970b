"""`labdeck pdf MANIFEST`: a deck printed through Chromium, one page per slide.

`<deck>.pdf`; with `--notes` `<deck>-notes.pdf` (the presenter notes under
each slide); with `--no-steps` `<deck>-handout.pdf` (only the last step of
incremental slides); `-o FILE` names it. The slides are shared out between a
few browser pages of one browser context (one renderer process each: every
core works); each page keeps only its own share of the deck in its DOM, prints
it in a few long runs, and the runs are merged in order with pypdf while the
others print.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import html as htmlmod
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from .browser import ChromiumNotFound, chromium_path, launch_args
from .check import OFFLINE_ARGS
from .diagnostics import os_error_line
from .write import replace_atomic, write_atomic

SLIDE_W, SLIDE_H = 908, 512        # px: the deck's slide
NOTES_PAGE_HEIGHT = 1024            # px: the slide on top, its notes below (no --paper)
RUN = 128                           # slides per print call: each call costs a fixed ~0.1 CPU-s and
                                    # embeds its fonts again; 24 per call took 16 CPU-s, 128 took 12
# Paper in CSS px (96 per inch), portrait; landscape for slides alone, portrait with notes.
PAPERS = {"a4": (793, 1122), "letter": (816, 1056)}

LEAVES_THE_MACHINE = re.compile(r"^(?!(file|data|blob|about):)", re.I)

# A page keeps only the slides it prints (its share, without dropped steps): the
# rest of the deck leaves its DOM before any picture loads or any layout happens.
KEEP_JS = r"""
(keep) => {
  const wanted = new Set(keep);
  const slides = Array.from(document.getElementsByClassName('remark-slide-container'));
  slides.forEach((el, i) => { if (!wanted.has(i)) el.remove(); });
  return document.getElementsByClassName('remark-slide-container').length;
}
"""

# Notes under each slide: the notes template's content, in a box below the slide.
NOTES_JS = r"""
(top) => {
  const st = document.createElement('style');
  st.textContent = '@media print {' +
    ' .labdeck-print-notes { display: block !important; position: absolute; left: 0; right: 0; top: ' + top + 'px;' +
    '   bottom: 0; overflow: hidden; box-sizing: border-box; padding: 16px 56px; border-top: 1px solid #999;' +
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

# Lazy images of hidden slides would print blank: load them all first. A
# picture that cannot load (a remote one: printing is offline) becomes a
# neutral placeholder saying so, not a blank space.
IMAGES_JS = r"""
(placeholder) => Promise.race([
  Promise.all(Array.from(document.images).map(img => {
    img.loading = 'eager';
    return img.complete ? null : new Promise(r => { img.onload = img.onerror = r; });
  })),
  new Promise(r => setTimeout(r, 15000))
]).then(() => {
  let replaced = 0;
  for (const img of document.querySelectorAll('.remark-slide-container img')) {
    if (img.complete && img.naturalWidth > 0) continue;
    let where = img.getAttribute('src') || '';
    try { where = new URL(where, document.baseURI).host || where; } catch (e) {}
    img.src = placeholder.replace('@WHERE@', encodeURIComponent(where.replace(/[<>&"]/g, '')));
    img.title = img.getAttribute('alt') || '';
    img.classList.add('labdeck-placeholder');
    replaced++;
  }
  return replaced;
})
"""

PLACEHOLDER_SVG = (
    "data:image/svg+xml;charset=utf-8,"
    "%3Csvg xmlns='http://www.w3.org/2000/svg' width='480' height='270' viewBox='0 0 480 270'%3E"
    "%3Crect x='1' y='1' width='478' height='268' fill='%23f2f2f2' stroke='%23bbb' stroke-width='2' "
    "stroke-dasharray='8 6'/%3E"
    "%3Cg fill='none' stroke='%23aaa' stroke-width='4'%3E%3Crect x='200' y='80' width='80' height='60' rx='4'/%3E"
    "%3Cpath d='M204 136l24-26 18 18 12-10 18 18'/%3E%3Ccircle cx='262' cy='98' r='7'/%3E%3C/g%3E"
    "%3Ctext x='240' y='180' font-family='sans-serif' font-size='16' fill='%23777' text-anchor='middle'%3E"
    "picture not available offline%3C/text%3E"
    "%3Ctext x='240' y='204' font-family='sans-serif' font-size='13' fill='%23999' text-anchor='middle'%3E"
    "@WHERE@%3C/text%3E%3C/svg%3E")

# Only the slides of one run print: the runs go in order, so the slides before it
# (printed already) leave the page, the ones after it stay, not laid out.
RUN_JS = r"""
([a, b]) => {
  let st = document.getElementById('labdeck-print-run');
  if (!st) {
    st = document.createElement('style');
    st.id = 'labdeck-print-run';
    st.textContent = '@media print { .remark-slide-container.labdeck-not-printed { display: none !important }' +
      ' .remark-slide-container.labdeck-run-last { break-after: auto !important; page-break-after: auto !important } }';
    document.head.appendChild(st);
    window.__labdeckSlides = Array.from(document.getElementsByClassName('remark-slide-container'));
  }
  window.__labdeckSlides.forEach((el, i) => {
    if (i < a) { el.remove(); return; }
    el.classList.toggle('labdeck-not-printed', i >= b);
    el.classList.toggle('labdeck-run-last', i === b - 1);   // no blank page after a run's last slide
  });
}
"""


# SVG pictures with filter effects (blurs, shadows): Chromium's PDF output draws each
# effect at print resolution, 1-3 s and ~0.5 MB per slide. They print as pictures
# twice the slide's width instead, drawn once and cached: JPEG on white (a PDF embeds
# JPEG as it is; a PNG is compressed again, 3x slower). They are drawn as the slide
# shows them, as an <img>, onto a canvas: half the CPU of a screenshot of each SVG
# opened as a page (16 CPU-s for kube-halfday's 26), which goes through the compositor.
RASTER_WIDTH = 2 * SLIDE_W
RASTER_MAX_HEIGHT = 8000
_IMG_SVG = re.compile(r'<img\b[^>]*?\bsrc="([^"]+\.svg)"', re.I)

DRAW_SVG_JS = r"""
async ([svg, width, maxHeight]) => {
  const load = async (text) => {
    const img = new Image();
    img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(text);
    await img.decode();
    return img;
  };
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  const root = doc.documentElement;
  if (root.localName !== 'svg') return null;
  // its size as written (px or plain numbers, or the viewBox); else as Chromium sees it
  const px = (v) => { const m = /^\s*([0-9]*\.?[0-9]+)\s*(px)?\s*$/.exec(v || ''); return m ? parseFloat(m[1]) : 0; };
  const box = (root.getAttribute('viewBox') || '').trim().split(/[\s,]+/).map(Number);
  const ratio = box.length === 4 && box[2] > 0 && box[3] > 0 ? box[3] / box[2] : 0;
  let w0 = px(root.getAttribute('width')), h0 = px(root.getAttribute('height'));
  if (ratio && !(w0 && h0)) {
    if (w0) h0 = w0 * ratio; else if (h0) w0 = h0 / ratio; else { w0 = box[2]; h0 = box[3]; }
  }
  if (!(w0 && h0)) {
    const plain = await load(svg);
    w0 = plain.naturalWidth || 300; h0 = plain.naturalHeight || 150;
  }
  // a picture without a viewBox would keep its own size in a larger box: give it one
  if (!root.getAttribute('viewBox')) root.setAttribute('viewBox', '0 0 ' + w0 + ' ' + h0);
  let w = Math.max(width, Math.round(w0)), h = Math.round(h0 * w / w0);
  if (h > maxHeight) { w = Math.round(w * maxHeight / h); h = maxHeight; }
  root.setAttribute('width', w); root.setAttribute('height', h);
  const img = await load(new XMLSerializer().serializeToString(doc));
  const canvas = document.createElement('canvas');
  canvas.width = w; canvas.height = h;
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, w, h);
  g.drawImage(img, 0, 0, w, h);
  const url = canvas.toDataURL('image/jpeg', 0.9);
  return url.slice(url.indexOf(',') + 1);
}
"""

SWAP_JS = r"""
(swaps) => {
  for (const img of document.querySelectorAll('.remark-slide-container img')) {
    const to = swaps[img.getAttribute('src')];
    if (to) img.src = to;
  }
}
"""


def filtered_svgs(html: Path) -> dict[str, Path]:
    """{src as written: file} for the deck's local SVG pictures that use filter effects."""
    found = {}
    for src in set(_IMG_SVG.findall(html.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", src, re.I):
            continue            # remote: not printed anyway
        path = html.parent / unquote(htmlmod.unescape(src))
        try:
            if b"<filter" in path.read_bytes():
                found[src] = path
        except OSError:
            continue
    return found


async def rasterize(context, svgs: dict[str, Path], cache: Path, workers: int = 2) -> dict[str, str]:
    """{src: file URL of a JPEG} for `svgs`, drawn in Chromium (`workers` pages of `context` at
    once), cached by content."""
    swaps, todo = {}, []
    for src, path in svgs.items():
        jpg = cache / (hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest() + f"-{RASTER_WIDTH}.jpg")
        swaps[src] = jpg.resolve().as_uri()
        if not jpg.is_file():
            todo.append((jpg, path))
    if not todo:
        return swaps
    cache.mkdir(parents=True, exist_ok=True)

    async def draw(share):
        from playwright.async_api import Error as PlaywrightError
        page = await context.new_page()
        try:
            for jpg, path in share:
                try:
                    data = await page.evaluate(DRAW_SVG_JS, [path.read_bytes().decode("utf-8", "replace"),
                                                             RASTER_WIDTH, RASTER_MAX_HEIGHT])
                except PlaywrightError:
                    data = None         # a picture Chromium cannot draw: it prints as it is
                if data:
                    write_atomic(jpg, base64.b64decode(data))
                else:
                    for src in [src for src, other in svgs.items() if other == path]:
                        swaps.pop(src, None)
        finally:
            await page.close()

    await asyncio.gather(*(draw(todo[k::workers]) for k in range(min(workers, len(todo)))))
    return swaps


@dataclass(frozen=True)
class Layout:
    """Page size and where the slide sits on it, in CSS px."""
    width: int
    height: int
    scale: float = 1.0
    x: float = 0.0
    y: float = 0.0
    notes_top: int | None = None       # where the notes start, with --notes

    def css(self) -> str:
        css = (f"@page {{ size: {self.width}px {self.height}px; margin: 0 }}\n"
               f"@media print {{ .remark-slide-container {{ width: {self.width}px !important;"
               f" height: {self.height}px !important }} }}")
        if (self.scale, self.x, self.y) != (1.0, 0.0, 0.0):
            css += (f"\n@media print {{ .remark-slide-scaler {{ transform-origin: 0 0 !important;"
                    f" transform: translate({self.x:.2f}px, {self.y:.2f}px) scale({self.scale:.5f}) !important }} }}")
        return css


def layout(paper: str | None = None, notes: bool = False) -> Layout:
    """The page: the slide's own size, or a paper size with the slide scaled to fit and centred
    (landscape; portrait with the notes below the slide)."""
    if paper is None:
        return Layout(SLIDE_W, NOTES_PAGE_HEIGHT, notes_top=SLIDE_H) if notes else Layout(SLIDE_W, SLIDE_H)
    short, long = PAPERS[paper]
    if notes:
        scale = short / SLIDE_W
        return Layout(short, long, scale, 0.0, 0.0, notes_top=int(SLIDE_H * scale) + 1)
    scale = min(long / SLIDE_W, short / SLIDE_H)
    return Layout(long, short, scale, (long - SLIDE_W * scale) / 2, (short - SLIDE_H * scale) / 2)


def pdf_name(stem: str, notes: bool = False, no_steps: bool = False) -> str:
    """<deck>.pdf, <deck>-notes.pdf, <deck>-handout.pdf, <deck>-handout-notes.pdf: options never overwrite."""
    return stem + ("-handout" if no_steps else "") + ("-notes" if notes else "") + ".pdf"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="build.py pdf", description="Print a deck to PDF through Chromium.")
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("manifest", type=Path, metavar="MANIFEST")
    p.add_argument("--out", type=Path, default=Path("dist"), metavar="DIR", help="output folder (default: dist)")
    p.add_argument("--source", type=Path, metavar="DIR", help="source root (default: the manifest's folder)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="the PDF to write (default: DIR/<deck>.pdf, <deck>-notes.pdf, <deck>-handout.pdf)")
    p.add_argument("--notes", action="store_true", help="print the presenter notes under each slide")
    p.add_argument("--no-steps", action="store_true",
                   help="only the last step of each incremental slide (handouts)")
    p.add_argument("--paper", choices=sorted(PAPERS), help="print on this paper, slides scaled to fit "
                                                           "(default: pages the size of a slide)")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="browser pages printing at once (default: 2)")
    p.add_argument("--browser", metavar="PATH", help="Chromium to use")


def steps_to_drop(slide_list: list[dict]) -> list[int]:
    """Numbers of the slides whose next slide continues them (step > 0)."""
    return [s["number"] for s, nxt in zip(slide_list, slide_list[1:]) if nxt.get("step", 0) > 0]


@dataclass
class Printed:
    slides: int             # slides printed (= pages expected)
    pages: int              # pages in the merged PDF
    placeholders: int       # pictures that could not load, printed as placeholders


def print_pdf(html: Path, pdf: Path, slide_list: list[dict], *, notes: bool = False, no_steps: bool = False,
              paper: str | None = None, browser_path: str | None = None, workers: int = 2,
              progress=None, cache: Path | None = None, run: int = RUN, raster: bool = True) -> Printed:
    """Print `html` to `pdf` (written whole, then renamed). `progress(n)` is called as runs of n slides print;
    `cache` keeps the pictures drawn for filtered SVGs (default: the build cache). `run` and
    `raster` exist for the benchmark (one print call of every slide, SVG filters drawn by the PDF output)."""
    if cache is None:
        from .cache import default_folder
        cache = default_folder() / "pdf-pictures"
    return asyncio.run(_print(html, pdf, slide_list, notes=notes, no_steps=no_steps, paper=paper,
                              browser_path=browser_path, workers=max(1, workers), progress=progress,
                              cache=cache, run=max(1, run), raster=raster))


class _Merger:
    """Appends the printed runs in order, in a thread, while the browser prints the next ones."""

    def __init__(self, runs: int):
        from pypdf import PdfWriter
        self.writer = PdfWriter()
        self.printed: list[bytes | None] = [None] * runs
        self.next = 0
        self.lock = asyncio.Lock()

    async def add(self, k: int, data: bytes) -> None:
        self.printed[k] = data
        async with self.lock:
            while self.next < len(self.printed) and self.printed[self.next] is not None:
                data, self.printed[self.next] = self.printed[self.next], b""
                await asyncio.to_thread(self._append, data)
                self.next += 1

    def _append(self, data: bytes) -> None:
        from pypdf import PdfReader
        self.writer.append(PdfReader(io.BytesIO(data)), import_outline=False)


def shares(count: int, workers: int, run: int) -> list[list[tuple[int, int]]]:
    """The printed slides 0..count-1 cut into one contiguous share per page, each share into
    even runs of at most `run` slides: [[(a, b), ...] per page], in slide order."""
    workers = max(1, min(workers, count))
    return [_cut(count * k // workers, count * (k + 1) // workers, run) for k in range(workers)]


def _cut(lo: int, hi: int, run: int) -> list[tuple[int, int]]:
    n = -(-(hi - lo) // run)
    return [(lo + (hi - lo) * j // n, lo + (hi - lo) * (j + 1) // n) for j in range(n)]


async def _print(html: Path, pdf: Path, slide_list: list[dict], *, notes, no_steps, paper, browser_path,
                 workers, progress, cache, run, raster) -> Printed:
    from playwright.async_api import async_playwright

    page_layout = layout(paper, notes)
    drop = set(steps_to_drop(slide_list)) if no_steps else set()
    printed = [s["number"] - 1 for s in slide_list if s["number"] not in drop]   # DOM positions, in order
    plan = [share for share in shares(len(printed), workers, run) if share]       # none for an empty deck
    runs = [r for share in plan for r in share]                                   # global, in slide order
    merger = _Merger(len(runs))
    placeholders = 0

    async def open_page(context, swaps, share):
        """A page holding only the slides of `share` (positions in `printed`), ready to print."""
        page = await context.new_page()
        await page.goto(html.resolve().as_uri(), wait_until="load")
        a, b = share[0][0], share[-1][1]
        kept = await page.evaluate(KEEP_JS, printed[a:b])
        if kept != b - a:
            raise RuntimeError(f"{html}: {kept} slides in the page for {b - a} expected")
        swaps = await swaps                 # the pictures are drawn while the pages load
        if swaps:
            await page.evaluate(SWAP_JS, swaps)
        missing = await page.evaluate(IMAGES_JS, PLACEHOLDER_SVG)
        await page.add_style_tag(content=page_layout.css())
        if notes:
            await page.evaluate(NOTES_JS, page_layout.notes_top)
        return page, missing

    async def print_share(context, swaps, share, first_run):
        nonlocal placeholders
        page, missing = await open_page(context, swaps, share)
        placeholders += missing
        base = share[0][0]
        for k, (a, b) in enumerate(share):
            await page.evaluate(RUN_JS, [a - base, b - base])
            data = await page.pdf(prefer_css_page_size=True, print_background=True)
            if progress:
                progress(b - a)
            await merger.add(first_run + k, data)
        await page.close()

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(browser_path), args=launch_args(OFFLINE_ARGS))
        try:
            # One context for every page (each still gets a renderer process of its own): Chromium
            # can start a WebUI renderer per context (see browser.QUIET_FEATURES).
            context = await browser.new_context(viewport={"width": SLIDE_W, "height": SLIDE_H})
            # nothing leaves the machine: remote pictures print as placeholders
            # (a pattern, not a Python function: the driver matches it, file: pictures never wait for us)
            await context.route(LEAVES_THE_MACHINE, lambda route: route.abort("blockedbyclient"))
            swaps = asyncio.ensure_future(rasterize(context, filtered_svgs(html), cache, workers) if raster
                                          else asyncio.sleep(0, {}))
            firsts = [sum(len(s) for s in plan[:k]) for k in range(len(plan))]
            await asyncio.gather(*(print_share(context, swaps, share, first)
                                   for share, first in zip(plan, firsts)))
            await swaps                         # drawn (and cached) even when no page waited for it
        finally:
            await browser.close()

    replace_atomic(pdf, merger.writer.write)
    return Printed(len(printed), len(merger.writer.pages), placeholders)


class _progress:
    """A rich progress bar on stderr when it is a terminal."""

    def __init__(self, label: str, total: int, show: bool):
        self.label, self.total, self.show, self.bar = label, total, show, None

    def __enter__(self):
        if not self.show:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
        self.bar = Progress("[bold]{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=Console(stderr=True), transient=True)
        self.bar.start()
        task = self.bar.add_task(self.label, total=self.total)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()


def main(argv: list[str]) -> int:
    # In a thread of its own when the caller already drives Playwright (tests, notebooks).
    from .browser import run_isolated
    return run_isolated(_main, argv)


def _main(argv: list[str]) -> int:
    return run(parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    from .build import build, print_diagnostics
    from .manifest import display_path

    try:
        chromium_path(args.browser)
    except ChromiumNotFound as e:
        print(f"build.py pdf: error: {e}", file=sys.stderr)
        return 2
    try:
        result = build([args.manifest], args.out, args.source, getattr(args, "exclude", None),
                       getattr(args, "strict", False), quiet=True, browser=args.browser,
                       templates=getattr(args, "templates", None))
    except OSError as e:            # an --out that cannot be written: one line, no traceback
        print(os_error_line(e, args.out), file=sys.stderr)
        return 2
    print_diagnostics(result)
    if not result.ok:
        print(f"build.py pdf: error: {args.manifest}: the build failed, no PDF written", file=sys.stderr)
        return 1
    from .check import built_stems
    [stem] = built_stems(result, [args.manifest])
    from .model import load_summaries
    summary = load_summaries(args.out)[stem]
    pdf = args.output or args.out / pdf_name(stem, args.notes, args.no_steps)
    total = len(summary["slide_list"]) - (len(steps_to_drop(summary["slide_list"])) if args.no_steps else 0)
    try:
        with _progress(f"pdf {stem}", total, sys.stderr.isatty()) as advance:
            done = print_pdf(args.out / summary["html"], pdf, summary["slide_list"], notes=args.notes,
                             no_steps=args.no_steps, paper=args.paper, browser_path=args.browser,
                             workers=args.workers, progress=advance)
    except OSError as e:
        print(os_error_line(e, pdf), file=sys.stderr)
        return 2
    if done.pages != done.slides:
        print(f"{display_path(args.manifest)}:1: error: {pdf} has {done.pages} pages for {done.slides} slides "
              "(a slide does not fit its page)", file=sys.stderr)
        return 1
    if done.placeholders:
        print(f"{display_path(args.manifest)}: warning: {done.placeholders} picture(s) could not load "
              "(remote, or broken): printed as placeholders (build with --fetch-remote to include remote ones)",
              file=sys.stderr)
    print(f"{stem}: {done.pages} pages → {display_path(pdf)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
