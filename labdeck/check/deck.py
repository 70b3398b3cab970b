"""Check one built deck in headless Chromium: every slide, every step.

Two pages (in two browser contexts, hence two renderer processes) each walk
half of the slides, so both cores work. Each page runs the probe in
probe.js over batches of slides in a single `evaluate`.
"""
from __future__ import annotations

import asyncio
import html as htmllib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlparse

from .probe import SETUP_JS

BATCH = 100             # slides per evaluate: a round trip per batch, progress per batch
MAX_SHOTS = 200         # screenshots per deck in the report (a broken theme flags every slide)
IMAGE_TIMEOUT_MS = 15000   # local images load in ms; this only bounds a stuck one
VIEWPORT = {"width": 908, "height": 512}   # scale 1: measurements are in slide pixels
LOCAL_SCHEMES = ("data:", "blob:", "about:")


@dataclass
class Finding:
    check: str          # overflow, title-wrap, empty, image, link, request, remote, page-error, console, count, ...
    severity: str       # error | warning
    deck: str
    number: int | None  # slide number, None for the whole deck
    name: str | None
    source: str         # path:line of the slide (data-source), or the manifest
    message: str
    excepted: str | None = None   # the exception's reason when an exception covers it
    shot: str | None = None       # screenshot sheet, relative to the report folder
    shot_box: list[int] | None = None   # [x, y, w, h] of this slide on that sheet

    def __str__(self) -> str:
        where = f"{self.deck} slide {self.number}" if self.number else self.deck
        if self.name:
            where += f" (#{self.name})"
        return f"{self.source}: {self.severity}: {where}: {self.message}"

    def key(self):
        return (self.check, self.number, self.message)

    def as_json(self) -> dict:
        return {k: getattr(self, k) for k in
                ("check", "severity", "number", "name", "source", "message", "excepted", "shot", "shot_box")}


@dataclass
class DeckResult:
    stem: str
    slides: int = 0
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    thumbnails: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)   # seconds per phase: open, walk, rest, shots, ...

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error" and not f.excepted]


class _Net:
    """Requests of one page: remote ones are aborted here, never sent."""

    def __init__(self, dist: Path):
        self.dist = dist.resolve()
        self.aborted: list[str] = []
        self.outside: list[str] = []
        self.failed: list[tuple[str, str]] = []

    def inside(self, url: str) -> bool:
        if url.startswith(LOCAL_SCHEMES):
            return True
        p = urlparse(url)
        if p.scheme != "file":
            return False
        path = Path(unquote(p.path)).resolve()
        return path == self.dist or self.dist in path.parents

    async def attach(self, context) -> None:
        async def abort(route):
            self.aborted.append(route.request.url)
            await route.abort("blockedbyclient")
        # Everything that is not a local file goes through `abort`: nothing leaves the machine.
        await context.route(lambda url: not url.startswith(("file:",) + LOCAL_SCHEMES), abort)
        context.on("request", self._request)
        context.on("requestfailed", self._failed)

    def _request(self, request) -> None:
        url = request.url
        if url.startswith("file:") and not self.inside(url):
            self.outside.append(url)

    def _failed(self, request) -> None:
        url = request.url
        if url in self.aborted or url in self.outside:
            return
        self.failed.append((url, request.failure or "failed"))


class _Errors:
    """Page errors and console errors, located by their line in the deck's HTML."""

    def __init__(self):
        self.items: list[tuple[str, str, int | None]] = []   # (kind, text, html line)

    def attach(self, page, html_name: str) -> None:
        line_re = re.compile(re.escape(html_name) + r":(\d+):\d+")

        def pageerror(err):
            m = line_re.search(getattr(err, "stack", "") or "")
            self.items.append(("page-error", f"uncaught {err.name or 'Error'}: {err.message}",
                               int(m.group(1)) if m else None))

        def console(msg):
            if msg.type != "error":
                return
            text = msg.text
            if text.startswith("Failed to load resource"):
                return      # the request itself is reported, with its URL
            loc = msg.location or {}
            line = loc.get("lineNumber")
            ok = html_name in (loc.get("url") or "") and line is not None
            self.items.append(("console", f"console error: {text}", line + 1 if ok else None))

        page.on("pageerror", pageerror)
        page.on("console", console)


def _slide_lines(html_text: str) -> list[tuple[int, int]]:
    """(first line, slide number) of every slide container in the deck's HTML."""
    out, line, pos = [], 1, 0
    for m in re.finditer(r'class="remark-slide-container" id="slide-(\d+)"', html_text):
        line += html_text.count("\n", pos, m.start())
        pos = m.start()
        out.append((line, int(m.group(1))))
    return out


def _slide_at_line(index: list[tuple[int, int]], line: int | None) -> int | None:
    if line is None:
        return None
    found = None
    for first, number in index:
        if first > line:
            break
        found = number
    return found


class DeckContext:
    """What findings need to name a slide: build.json's summary of the deck, and
    the source files, to point at the line that causes a finding."""

    def __init__(self, stem: str, summary: dict, decks: dict, roots: list[Path] | None = None,
                 sibling: Callable[[str], dict | None] | None = None):
        self.stem = stem
        self.summary = summary
        self.decks = decks          # every deck of build.json, for cross-deck links
        self.slides = summary.get("slide_list", [])
        self.manifest = summary.get("manifest") or f"{stem}.yml"
        self.roots = [Path(r) for r in (roots or [Path(self.manifest).parent])]
        self.sibling = sibling or (lambda stem: None)   # a sibling deck's summary, built on demand
        self._lines: dict[str, list[str] | None] = {}

    def finding(self, check: str, severity: str, number: int | None, message: str,
                needle: str | None = None) -> Finding:
        """A finding on slide `number`; `needle` (a URL, a link) finds the line that names it."""
        if number and 1 <= number <= len(self.slides):
            s = self.slides[number - 1]
            where = self._where(s, number, needle) if needle else f"{s['source']}:{s['line']}"
            return Finding(check, severity, self.stem, number, s.get("name"), where, message)
        return Finding(check, severity, self.stem, None, None, f"{self.manifest}:1", message)

    def _where(self, s: dict, number: int, needle: str) -> str:
        # markmaker's picture slides come from interstitials.txt: point at its line
        if "pic" in (s.get("classes") or []):
            path = Path(self.manifest).parent / "interstitials.txt"
            line = self._find(str(path), needle, 1, None)
            if line:
                return f"{path}:{line}"
        end = next((t["line"] for t in self.slides[number:] if t["source"] == s["source"] and t["line"] > s["line"]),
                   None)
        line = self._find(s["source"], needle, s["line"], end)
        return f"{s['source']}:{line or s['line']}"

    def _find(self, source: str, needle: str, start: int, end: int | None) -> int | None:
        """The first line in [start, end) naming `needle` (as written, or its file name)."""
        lines = self._read(source)
        if not lines:
            return None
        candidates = [needle, unquote(needle), htmllib.unescape(needle)]
        for n in range(start - 1, min(len(lines), end - 1 if end else start + 400)):
            if any(c and c in lines[n] for c in candidates):
                return n + 1
        return None

    def _read(self, source: str) -> list[str] | None:
        if source not in self._lines:
            self._lines[source] = None
            for base in [Path(".")] + [b for r in self.roots for b in (r, r.parent)]:
                path = base / source if not Path(source).is_absolute() else Path(source)
                if path.is_file():
                    try:
                        self._lines[source] = path.read_text(encoding="utf-8").split("\n")
                    except (OSError, UnicodeDecodeError):
                        pass
                    break
        return self._lines[source]


def _names(summary: dict) -> set[str]:
    return {s["name"] for s in summary.get("slide_list", []) if s.get("name")}


def _missing(target: str, summary: dict) -> str | None:
    """Why `#target` shows no slide of that deck (the player's rules: a number or a name); None if it does."""
    target = unquote(target)
    if re.fullmatch(r"[0-9]+", target):
        count = summary.get("slides", 0)
        return None if 1 <= int(target) <= count else f"the deck has {count} slide{'s' if count != 1 else ''}"
    return None if target in _names(summary) else "no slide has that name"


def check_links(ctx: DeckContext, links: list[dict], dist: Path) -> list[Finding]:
    out = []
    own = dist.resolve() / ctx.summary.get("html", f"{ctx.stem}.html")
    by_html = {(dist.resolve() / d.get("html", f"{k}.html")): d for k, d in ctx.decks.items()}
    for link in links:
        href, n = link["href"], link["n"]
        if href.startswith("#"):
            why = _missing(href[1:], ctx.summary)
            if why:
                out.append(ctx.finding("link", "error", n, f"dead link {href}: {why}", needle=href))
            continue
        p = urlparse(link["url"])
        if p.scheme != "file" or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href):
            continue            # web links are not followed: the check is offline
        path = Path(unquote(p.path)).resolve()
        if path == own:
            why = p.fragment and _missing(p.fragment, ctx.summary)
            if why:
                out.append(ctx.finding("link", "error", n, f"dead link {href}: {why}", needle=href))
            continue
        target = by_html.get(path)
        if target is None and path.parent == dist.resolve() and path.suffix == ".html":
            # a sibling deck of the same folder that this check did not build: built now
            target = ctx.sibling(path.stem)
            if target is not None:
                by_html[path] = target
        if target is not None:
            why = p.fragment and _missing(p.fragment, target)
            if why:
                other = Path(target["html"]).stem
                why = (why.replace("the deck", f"deck {other}", 1) if why.startswith("the deck")
                       else f"deck {other} has no slide '{unquote(p.fragment)}'")
                out.append(ctx.finding("link", "error", n, f"dead link {href}: {why}", needle=href))
            continue
        if not path.exists():
            out.append(ctx.finding("link", "error", n, f"dead link {href}: {path.name} is not in the output folder",
                                   needle=href))
    return out


async def _open(browser, url: str, net: _Net, errors: _Errors, html_name: str):
    context = await browser.new_context(viewport=VIEWPORT)
    await net.attach(context)
    page = await context.new_page()
    errors.attach(page, html_name)
    await page.goto(url, wait_until="load")
    await page.evaluate(SETUP_JS)
    late = await page.evaluate("t => window.__labdeckCheck.settle(t)", IMAGE_TIMEOUT_MS)
    return context, page, late


async def check_deck(browser, dist: Path, stem: str, decks: dict, *, workers: int = 2, roots=None, sibling=None,
                     progress: Callable[[int], None] | None = None, shots: Path | None = None,
                     thumbnails: Path | None = None) -> DeckResult:
    """Check dist/<stem>.html against build.json's `decks` summaries.

    `progress(n)` is called after every batch with the number of slides done;
    `shots` is a folder for screenshots of slides with findings, `thumbnails`
    a folder for contact sheets."""
    started = time.perf_counter()
    dist = Path(dist)
    summary = decks[stem]
    ctx = DeckContext(stem, summary, decks, roots, sibling)
    html_name = summary.get("html", f"{stem}.html")
    html_path = dist / html_name
    html_text = html_path.read_text(encoding="utf-8")
    url = html_path.resolve().as_uri()
    result = DeckResult(stem)
    mark = [started]

    def _t(label):      # phase times, for benchmarks (result.phases)
        now = time.perf_counter()
        result.phases[label] = round(now - mark[0], 3)
        mark[0] = now
    net, errors = _Net(dist), _Errors()

    opened = await asyncio.gather(*(_open(browser, url, net, errors, html_name) for _ in range(max(1, workers))))
    pages = [p for _, p, _ in opened]
    _t("open")
    try:
        first = pages[0]
        count = await first.evaluate("window.__labdeckCheck.count()")
        player = await first.evaluate("window.slideshow ? slideshow.getSlideCount() : -1")
        result.slides = count
        for k in await first.evaluate("window.__labdeckCheck.player()"):
            result.findings.append(ctx.finding("player", "error", k, f"gotoSlide({k}) did not show slide {k}"))
        expected = summary.get("slides")
        if count != expected or player != expected:
            result.findings.append(ctx.finding(
                "count", "error", None,
                f"the page has {count} slides (player: {player}), build.json says {expected}"))

        # the walk: each page takes a contiguous half, batch after batch
        per = -(-count // len(pages))

        async def walk(page, a, b):
            found = []
            for s in range(a, b, BATCH):
                e = min(b, s + BATCH)
                found += await page.evaluate("([a, b]) => window.__labdeckCheck.walk(a, b)", [s, e])
                if progress:
                    progress(e - s)
            return found

        parts = await asyncio.gather(*(walk(p, k * per, min(count, (k + 1) * per))
                                       for k, p in enumerate(pages)))
        _t("walk")
        for f in (f for part in parts for f in part):
            result.findings.append(ctx.finding(f["check"], f["severity"], f["n"], f["message"]))

        for img in opened[0][2]:
            result.findings.append(ctx.finding("image", "error", img["n"],
                                               f"image still loading after {IMAGE_TIMEOUT_MS // 1000}s: {img['src']}",
                                               needle=img["src"]))
        for img in await first.evaluate("window.__labdeckCheck.images()"):
            result.findings.append(ctx.finding("image", "error", img["n"],
                                               f"image did not load (broken or not an image): {img['src']}",
                                               needle=img["src"]))
        result.findings += check_links(ctx, await first.evaluate("window.__labdeckCheck.links()"), dist)
        result.findings += await _requests(first, ctx, net, html_text)
        index = _slide_lines(html_text)
        for kind, text, line in dict.fromkeys(errors.items):
            result.findings.append(ctx.finding(kind, "error", _slide_at_line(index, line), text))

        result.findings = _dedupe(result.findings)
        _t("rest")
        if shots is not None:
            await _screenshots(pages, result, shots)
            _t("shots")
        if thumbnails is not None:
            result.thumbnails = await _contact_sheets(pages, stem, count, thumbnails)
            _t("thumbnails")
    finally:
        for context, _, _ in opened:
            await context.close()
    result.seconds = time.perf_counter() - started
    return result


async def _requests(page, ctx: DeckContext, net: _Net, html_text: str) -> list[Finding]:
    """Requests that left dist/ or failed, each on the slide that asked for it."""
    urls = list(dict.fromkeys(net.aborted + net.outside + [u for u, _ in net.failed]))
    where = await page.evaluate("u => window.__labdeckCheck.locate(u)", urls) if urls else {}
    source_text = htmllib.unescape(html_text)
    out = []
    for u in dict.fromkeys(net.aborted):
        if u in source_text:
            out.append(ctx.finding("remote", "warning", where.get(u),
                                   f"remote resource not loaded (the check is offline): {u}", needle=u))
        else:
            out.append(ctx.finding("request", "error", where.get(u), f"request outside the output folder: {u}",
                                   needle=u))
    for u in dict.fromkeys(net.outside):
        out.append(ctx.finding("request", "error", where.get(u),
                               f"request outside the output folder: {unquote(urlparse(u).path)}"))
    for u, why in dict.fromkeys(net.failed):
        out.append(ctx.finding("request", "error", where.get(u), f"failed request ({why}): {u}"))
    return out


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        if f.key() not in seen:
            seen.add(f.key())
            out.append(f)
    # errors first, then warnings; each by slide
    return sorted(out, key=lambda f: (f.severity != "error", f.number or 0, f.check, f.message))


SHOT_COLS, SHOT_ROWS, SHOT_W, SHOT_H = 4, 8, 454, 256      # findings: half-size slides
THUMB_COLS, THUMB_ROWS, THUMB_W, THUMB_H = 10, 10, 227, 128  # contact sheets: quarter size
LABEL_H = 16


async def _sheets(pages, numbers: list[int], folder: Path, prefix: str,
                  cols: int, rows: int, w: int, h: int) -> list[tuple[str, dict[int, list[int]]]]:
    """Screenshots of many slides at once: grids of `cols` x `rows` small slides.

    One screenshot per sheet instead of one per slide (a screenshot costs
    100+ ms). Returns [(file name, {slide number: [x, y, w, h]})]."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{prefix}*.png"):     # sheets of an earlier, longer run
        old.unlink()
    per = cols * rows
    groups = [numbers[i:i + per] for i in range(0, len(numbers), per)]
    names = [f"{prefix}.png" if k == 0 else f"{prefix}-{k + 1}.png" for k in range(len(groups))]
    out: list = [None] * len(groups)

    async def shoot(page, todo):
        await page.set_viewport_size({"width": cols * w, "height": rows * (h + LABEL_H)})
        for k in todo:
            group = groups[k]
            await page.evaluate("([n, c, w, h, l]) => window.__labdeckCheck.sheet(n, c, w, h, l)",
                                [group, cols, w, h, LABEL_H])
            used_cols, used_rows = min(cols, len(group)), -(-len(group) // cols)
            await page.screenshot(path=str(folder / names[k]), clip={
                "x": 0, "y": 0, "width": used_cols * w, "height": used_rows * (h + LABEL_H)})
            boxes = {n: [(j % cols) * w, (j // cols) * (h + LABEL_H), w, h + LABEL_H] for j, n in enumerate(group)}
            out[k] = (names[k], boxes)

    ks = list(range(len(groups)))
    await asyncio.gather(*(shoot(p, ks[j::len(pages)]) for j, p in enumerate(pages)))
    return out


async def _screenshots(pages, result: DeckResult, folder: Path) -> None:
    numbers = sorted({f.number for f in result.findings if f.number})[:MAX_SHOTS]
    if not numbers:
        return
    for name, boxes in await _sheets(pages, numbers, folder, f"{result.stem}-findings",
                                     SHOT_COLS, SHOT_ROWS, SHOT_W, SHOT_H):
        for f in result.findings:
            if f.number in boxes:
                f.shot = f"{folder.name}/{name}"
                f.shot_box = boxes[f.number]


async def _contact_sheets(pages, stem: str, count: int, folder: Path) -> list[str]:
    sheets = await _sheets(pages, list(range(1, count + 1)), folder, f"{stem}-thumbnails",
                           THUMB_COLS, THUMB_ROWS, THUMB_W, THUMB_H)
    return [name for name, _ in sheets]
