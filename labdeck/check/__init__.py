"""`labdeck check`: build the decks, then check every slide in headless Chromium.

Findings print as `path:line: error|warning: <deck> slide N (#name): message`
(path:line is the slide's source); the report goes to DIR/check/.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from . import exceptions as check_exceptions
from ..browser import LAUNCH_ARGS, ChromiumNotFound, chromium_path, launch_args
from .deck import DeckResult, check_deck
from ..diagnostics import BuildError, openable, os_error_line

# Every name resolves nowhere: if a request ever got past the routing in
# check_deck (which aborts all of them), it still could not leave the machine.
OFFLINE_ARGS = LAUNCH_ARGS + ["--host-resolver-rules=MAP * ~NOTFOUND"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """check's own options (cli.py adds the deck options every command shares)."""
    p.add_argument("--browser", metavar="PATH", help="Chromium to use (default: $LABDECK_CHROMIUM, "
                                                     "Playwright's own, /usr/bin/chromium)")
    p.add_argument("--thumbnails", action="store_true", help="also write contact sheets of every slide")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="pages checking in parallel (default: 2)")


async def _launch(pw, browser_path: str | None):
    return await pw.chromium.launch(executable_path=chromium_path(browser_path), headless=True,
                                    args=launch_args(OFFLINE_ARGS))


async def check_decks(dist: Path, stems: list[str], *, browser_path: str | None = None, workers: int = 2,
                      report: Path | None = None, thumbnails: bool = False,
                      show_progress: bool = False, roots: list[Path] | None = None,
                      sibling=None) -> list[DeckResult]:
    """Check the built decks `stems` of `dist` (read from dist/build.json). `roots`: the source
    roots (to point findings at their line); `sibling(stem)`: a deck of the same folder that
    was not built, built on demand (its build.json summary, or None)."""
    from playwright.async_api import async_playwright

    from ..model import load_summaries
    decks = load_summaries(dist)
    results = []
    async with async_playwright() as pw:
        browser = await _launch(pw, browser_path)
        try:
            for stem in stems:
                with _progress(stem, decks[stem].get("slides", 0), show_progress) as advance:
                    results.append(await check_deck(
                        browser, dist, stem, decks, workers=workers, progress=advance, roots=roots,
                        sibling=sibling,
                        shots=report / "shots" if report else None,
                        thumbnails=report if (report and thumbnails) else None))
        finally:
            await browser.close()
    return results


def check_deck_timed(dist: Path, stem: str, browser_path: str | None = None, workers: int = 2,
                     screenshots: bool = False) -> tuple[DeckResult, float]:
    """One built deck, checked: (result, seconds including the browser launch). For benchmarks."""
    started = time.perf_counter()
    report = Path(dist) / "check" if screenshots else None
    [result] = asyncio.run(check_decks(Path(dist), [stem], browser_path=browser_path, workers=workers,
                                       report=report))
    return result, time.perf_counter() - started


class _progress:
    """A rich progress bar on stderr for decks big enough to wait for."""

    def __init__(self, stem: str, total: int, show: bool):
        self.stem, self.total, self.show, self.bar = stem, total, show and total >= 200, None

    def __enter__(self):
        if not self.show:
            return lambda n: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
        self.bar = Progress("[bold]{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=Console(stderr=True), transient=True)
        self.bar.start()
        task = self.bar.add_task(f"check {self.stem}", total=self.total)
        return lambda n: self.bar.advance(task, n)

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()


def built_stems(result, manifests: list[Path]) -> list[str]:
    """The decks a build left in place, in manifest order: rebuilt ones and
    unchanged ones (the build skips a deck whose inputs did not change)."""
    stems = []
    for m in manifests:
        if m in result.failed:
            continue
        stamp = getattr(result, "stamps", {}).get(m)
        if stamp and stamp.get("html"):
            stems.append(Path(stamp["html"]).stem)
        else:
            stems += [k for k, d in result.decks.items() if Path(d.manifest).resolve() == Path(m).resolve()]
    return list(dict.fromkeys(stems))


def _from_here(f, roots) -> str:
    """A finding whose slide path opens from the current folder (see diagnostics.openable)."""
    from dataclasses import replace
    path, _, line = f.source.rpartition(":")
    if not path or not line.isdigit():
        return str(f)
    return str(replace(f, source=f"{openable(path, roots)}:{line}"))


def _sibling_builder(manifests: list[Path], args):
    """sibling(stem): the build.json summary of `<stem>.yml` next to a checked manifest,
    built into the same output folder when a link names it and it was not checked."""
    folders = list(dict.fromkeys(Path(m).parent for m in manifests))
    done: dict[str, dict | None] = {}

    def sibling(stem: str) -> dict | None:
        if stem not in done:
            done[stem] = None
            from ..build import build
            for folder in folders:
                for candidate in (folder / f"{stem}.yml", folder / f"{stem}.yaml"):
                    if candidate.is_file():
                        result = build([candidate], args.out, args.source, quiet=True)
                        if result.ok:
                            from ..model import load_summaries
                            decks = load_summaries(args.out)
                            done[stem] = next((d for d in decks.values() if d.get("html") == f"{stem}.html"), None)
                        return done[stem]
        return done[stem]
    return sibling


def run(args: argparse.Namespace, manifests: list[Path]) -> int:
    """`labdeck check`: build what is out of date (with the command's deck options),
    check every slide, print the findings, write the report; returns the exit status."""
    from ..build import build, print_diagnostics

    try:
        chromium_path(args.browser)
        exceptions = [e for folder in dict.fromkeys(Path(m).resolve().parent for m in manifests)
                      for e in check_exceptions.load(folder)]
    except ChromiumNotFound as e:
        print(f"check: error: {e}", file=sys.stderr)
        return 2
    except BuildError as e:
        print(e.diagnostic, file=sys.stderr)
        return 2

    try:
        built = build(manifests, args.out, args.source, args.exclude, args.strict, quiet=True, browser=args.browser,
                      templates=args.templates)
    except OSError as e:            # an --out that cannot be written: one line, no traceback
        print(os_error_line(e, args.out), file=sys.stderr)
        return 2
    print_diagnostics(built)
    status = 0
    for m in built.failed:
        print(f"check: error: {m}: the build failed, the deck was not checked", file=sys.stderr)
        status = 1
    stems = built_stems(built, manifests)
    if not stems:
        return 1

    report = args.out / "check"
    started = time.perf_counter()
    roots = [args.source] if args.source else sorted({Path(m).parent for m in manifests})
    results = asyncio.run(check_decks(args.out, stems, browser_path=args.browser, workers=args.workers,
                                      report=report, thumbnails=args.thumbnails,
                                      show_progress=sys.stderr.isatty(), roots=roots,
                                      sibling=_sibling_builder(manifests, args)))
    findings = [f for r in results for f in r.findings]
    check_exceptions.apply(exceptions, findings)
    stale = check_exceptions.stale(exceptions, set(stems))

    findings.sort(key=lambda f: f.severity != "error")     # errors first (stable: each deck's order kept)
    for f in findings:
        if not f.excepted:
            print(_from_here(f, roots), file=sys.stderr)
    for line in stale:
        print(line, file=sys.stderr)

    from .report import write_report
    index = write_report(report, results, stale, args.templates)

    errors = sum(len(r.errors) for r in results) + len(stale)
    warnings = sum(1 for f in findings if f.severity == "warning" and not f.excepted)
    excepted = sum(1 for f in findings if f.excepted)
    slides = sum(r.slides for r in results)
    print(f"check: {len(results)} deck(s), {slides} slides, {errors} error(s), {warnings} warning(s)"
          + (f", {excepted} excepted" if excepted else "")
          + f", {time.perf_counter() - started:.1f}s → {index}")
    return 1 if errors or status else 0

