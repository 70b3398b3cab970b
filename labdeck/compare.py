"""Differential comparison with container.training's own rendering, slide by slide.

    python -m labdeck.compare MANIFEST ... [--reference DIR] [--browser PATH]

For each manifest: the reference `markmaker.py` joins the chapters into its
page (in a temporary copy of the manifest's folder made of symbolic links:
markmaker writes next to its input), the page runs with the reference remark
fork in headless Chromium, labdeck builds the same deck, and the same facts
are read from every slide of both DOMs: classes, normalised visible text,
link targets, the text of every code line and the block structure (headings,
paragraphs, lists, code blocks, quotes, tables, `.name[...]` boxes).

Only local files load: the page's static `import` of mermaid from a CDN is
answered with a stub (without it the module, and remark, never runs) and
every other request outside the temporary folder is blocked. Images are not
loaded (no fact depends on them).

Prints per deck the share of identical slides, and each differing slide as
`path:line: <what differs>: remark '...' / labdeck '...'`.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

REFERENCE_FILES = ("markmaker.py", "remark.min.js", "workshop.html", "workshop.css")
MERMAID_STUB = "export default { initialize() {}, run() {} };\n"

# Run in both pages: one record per slide, in order. Left out of every fact:
# the slide number, markmaker's `.debug[...]` footer (edit links, hidden),
# and diagrams (labdeck draws them at build time, remark in the browser).
FACTS_JS = Path(__file__).with_name("compare_facts.js").read_text(encoding="utf-8")


@dataclass
class SlideDiff:
    where: str
    what: str
    remark: str
    labdeck: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}: remark {_quote(self.remark)} / labdeck {_quote(self.labdeck)}"


@dataclass
class DeckReport:
    stem: str
    total: int = 0
    identical: int = 0
    deviating: int = 0          # slides that differ only by DEVIATIONS
    diffs: list[SlideDiff] = field(default_factory=list)
    error: str | None = None

    @property
    def share(self) -> float:
        """Identical slides, counting those that differ only by a listed deliberate deviation."""
        return (self.identical + self.deviating) / self.total if self.total else 0.0

    def summary(self) -> str:
        if self.error:
            return f"{self.stem}: error: {self.error}"
        line = f"{self.stem}: {self.identical + self.deviating}/{self.total} slides identical ({100 * self.share:.2f}%)"
        if self.deviating:
            line += f", {self.deviating} of them only up to deliberate deviations"
        return line


class CompareError(Exception):
    """The comparison cannot run (no reference, markmaker failed...): one line."""


def _quote(text: str, limit: int = 160) -> str:
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return "'" + text.replace("'", "\\'") + "'"


def find_reference(manifest: Path, explicit: Path | None = None) -> Path:
    """The reference tools: `explicit`, else a `reference/` folder beside the manifest's folder."""
    candidates = [explicit] if explicit else [manifest.resolve().parent.parent / "reference"]
    for folder in candidates:
        if folder and all((folder / name).is_file() for name in REFERENCE_FILES):
            return folder
    where = candidates[0]
    raise CompareError(f"no reference tools in {where} (need {', '.join(REFERENCE_FILES)}); use --reference DIR")


def _mirror(src: Path, dst: Path) -> None:
    """dst/ holds a symbolic link to every entry of src/ (read-only source, writable copy)."""
    dst.mkdir(parents=True, exist_ok=True)
    for entry in src.iterdir():
        target = dst / entry.name
        if not target.exists():
            target.symlink_to(entry.resolve())


def run_markmaker(manifest: Path, reference: Path, work: Path) -> Path:
    """markmaker's page for `manifest`, written in `work` (its folder layout mirrored there).

    markmaker runs from the manifest's folder: it reads `interstitials.txt`
    and `workshop.html` there, resolves @@INCLUDE against `..`, and writes
    `fragments/` there; so the folder and its parent are mirrored with links."""
    manifest = manifest.resolve()
    source = manifest.parent
    root = work / "root"
    _mirror(source.parent, root)
    slides = root / source.name
    if slides.is_symlink():
        slides.unlink()
    _mirror(source, slides)
    for name in ("remark.min.js", "workshop.html", "workshop.css"):
        target = slides / name
        if target.is_symlink():
            target.unlink()
        target.symlink_to(reference / name)
    env = dict(os.environ, PWD=str(slides), REPOSITORY_URL="https://example.invalid/repo", BRANCH="main",
               GIT_CEILING_DIRECTORIES=str(work), LOG_LEVEL="ERROR")
    proc = subprocess.run([sys.executable, str(reference / "markmaker.py"), manifest.name], cwd=slides, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0 or not proc.stdout.strip():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise CompareError(f"markmaker failed on {manifest.name}: {last}")
    page = slides / f"{manifest.stem}.reference.html"
    page.write_text(proc.stdout, encoding="utf-8")
    return page


def build_labdeck(manifest: Path, work: Path) -> tuple[Path, list[dict]]:
    """labdeck's page for `manifest` (fresh cache: nothing rendered by an older labdeck is reused)."""
    from .build import build
    out = work / "labdeck"
    result = build([manifest], out, quiet=True, cache_dir=work / "cache", force=True)
    if not result.ok:
        first = next(iter(result.diagnostics.errors), None)
        raise CompareError(f"labdeck failed to build {manifest.name}: {first}")
    deck = result.decks[manifest.stem]
    from .model import load_summaries
    data = {"decks": load_summaries(out)}
    return out / deck.html_name, data["decks"][manifest.stem]["slide_list"]


def _router(allowed: Path):
    allowed = str(allowed.resolve())

    def route(r):
        request = r.request
        url = request.url
        if "mermaid" in url and url.startswith("https://") and url.endswith((".mjs", ".js")):
            return r.fulfill(status=200, content_type="text/javascript", body=MERMAID_STUB,
                             headers={"Access-Control-Allow-Origin": "*"})
        if request.resource_type in ("image", "font", "media"):
            return r.abort()
        parsed = urlparse(url)
        if parsed.scheme == "file" and os.path.abspath(unquote(parsed.path)).startswith(allowed + os.sep):
            return r.continue_()
        if parsed.scheme in ("data", "about", "blob"):
            return r.continue_()
        return r.abort()
    return route


def read_facts(browser, page_path: Path, allowed: Path, ready: str) -> list[dict]:
    from playwright.sync_api import Error as PlaywrightError
    context = browser.new_context()
    try:
        context.route("**/*", _router(allowed))
        page = context.new_page()
        page.goto(page_path.as_uri(), wait_until="commit", timeout=PAGE_TIMEOUT)
        page.wait_for_function(ready, timeout=PAGE_TIMEOUT)
        return page.evaluate(FACTS_JS)
    except PlaywrightError as e:
        raise CompareError(f"{page_path.name}: the page did not come up in Chromium: {str(e).splitlines()[0]}")
    finally:
        context.close()


PAGE_TIMEOUT = 300_000      # ms: a 2,600-slide page on a busy machine


# The page's module script hides `#loading` right after remark.create() returns.
REMARK_READY = ("() => { const l = document.querySelector('#loading'); "
                "return document.readyState === 'complete' && l && l.style.display === 'none'; }")
LABDECK_READY = "() => document.readyState === 'complete'"

FACT_NAMES = [("classes", "classes differ"), ("structure", "block structure differs"),
              ("text", "text differs"), ("links", "link targets differ"), ("code", "code lines differ")]


def _first_difference(a: str, b: str, context: int = 40) -> tuple[str, str]:
    """The two texts around where they start to differ."""
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    start = max(0, i - context)
    prefix = "..." if start else ""
    return prefix + a[start:i + 2 * context], prefix + b[start:i + 2 * context]


def _show(value) -> str:
    if isinstance(value, list):
        return " | ".join(_show(v) for v in value)
    return str(value)


def slide_differences(remark: dict, ours: dict) -> list[tuple[str, str, str]]:
    out = []
    for key, label in FACT_NAMES:
        a, b = remark[key], ours[key]
        if a == b:
            continue
        if isinstance(a, list) and isinstance(b, list):
            # show the first differing item (a list of code lines: the first differing line)
            k = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            x = a[k] if k < len(a) else "(nothing)"
            y = b[k] if k < len(b) else "(nothing)"
            if isinstance(x, list) and isinstance(y, list):
                j = next((j for j in range(min(len(x), len(y))) if x[j] != y[j]), min(len(x), len(y)))
                x = x[j] if j < len(x) else "(no more lines)"
                y = y[j] if j < len(y) else "(no more lines)"
                label = f"{label} (block {k + 1}, line {j + 1})"
            out.append((label, *_first_difference(_show(x), _show(y))))
        else:
            out.append((label, *_first_difference(_show(a), _show(b))))
    return out


# Deliberate deviations (docs/deviations.md), applied to both sides before comparing;
# a slide that differs only through them is counted apart, never hidden.
DEVIATIONS = {
    "page names": "labdeck writes `<stem>.html`, markmaker's pages are `<manifest>.yml.html`: "
                  "@@HTML@@ and links to other decks' pages follow labdeck's names",
    "local @@LINK copies": "@@LINK[path] links to a copy of the file in the deck's folder (files/path), "
                           "not to the file on GitHub",
    "toc class": "labdeck's table-of-contents slides carry class `toc` (for its theme)",
    "moved title slides": "markmaker inserts a title's picture and title slides before the first "
                          "occurrence of the title's text: a title used twice gets both pairs at the first place",
    "title-slide links": "markmaker's first and last title slides link to `#toc-` (no such slide); "
                         "labdeck links to the part's table of contents instead",
}


_GITHUB_FILE = re.compile(r"^https://github\.com/jpetazzo/container\.training/tree/main/")   # markmaker's @@LINK


def _link(href: str) -> str:
    if href.startswith("#toc-part-"):
        return "#toc-"
    return _GITHUB_FILE.sub("files/", href.replace(".yml.html", ".html"))


def normalised(facts: dict) -> dict:
    f = dict(facts)
    f["links"] = [_link(h) for h in f["links"]]
    f["text"] = f["text"].replace(".yml.html", ".html")
    f["classes"] = [c for c in f["classes"] if c != "toc"]
    return f


def _key(facts: dict) -> str:
    return json.dumps(facts, sort_keys=True)


def compare_deck(manifest: Path, browser, reference: Path | None = None) -> DeckReport:
    import difflib
    manifest = Path(manifest)
    report = DeckReport(manifest.stem)
    ref = find_reference(manifest, reference)
    with tempfile.TemporaryDirectory(prefix="labdeck-compare-") as tmp:
        work = Path(tmp)
        ref_page = run_markmaker(manifest, ref, work)
        our_page, slide_list = build_labdeck(manifest, work)
        theirs = read_facts(browser, ref_page, work, REMARK_READY)
        ours = read_facts(browser, our_page, work, LABDECK_READY)
    report.total = len(theirs)
    folder = manifest.parent

    def where(j: int) -> str:
        j = min(j, len(slide_list) - 1)
        return _where(folder, slide_list[j] if j >= 0 else {}, j)

    def pair(i: int, j: int) -> None:
        found = slide_differences(theirs[i], ours[j])
        if not found:
            report.identical += 1
        elif not slide_differences(normalised(theirs[i]), normalised(ours[j])):
            report.deviating += 1
        else:
            report.diffs.extend(SlideDiff(where(j), what, x, y) for what, x, y in found)

    # Pair the slides in order; where a deck's slides are not in the same order
    # (markmaker puts a title slide before the first occurrence of its title's
    # text), align them so that one moved slide is one difference, not hundreds.
    matcher = difflib.SequenceMatcher(None, [_key(normalised(f)) for f in theirs],
                                      [_key(normalised(f)) for f in ours], autojunk=False)
    only_theirs: list[tuple[int, int]] = []     # (remark index, labdeck index nearby)
    only_ours: list[int] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        common = min(i2 - i1, j2 - j1)
        for k in range(common):
            pair(i1 + k, j1 + k)
        only_theirs += [(i, j1 + common) for i in range(i1 + common, i2)]
        only_ours += range(j1 + common, j2)
    # The same slide at another place: markmaker puts a title's slides before
    # the first occurrence of the title's text (a title used twice moves them).
    # (their previous/next links differ with their place: compared without links)
    def unlinked(facts: dict) -> str:
        return _key(dict(normalised(facts), links=[]))
    ours_by_key: dict[str, list[int]] = {}
    for j in only_ours:
        ours_by_key.setdefault(unlinked(ours[j]), []).append(j)
    for i, near in only_theirs:
        moved = ours_by_key.get(unlinked(theirs[i]))
        if moved:
            only_ours.remove(moved.pop(0))
            report.deviating += 1
        else:
            report.diffs.append(SlideDiff(where(near), "slide only in remark's deck", theirs[i]["text"][:80], "(none here)"))
    for j in only_ours:
        report.diffs.append(SlideDiff(where(j), "slide only in labdeck's deck", "(none here)", ours[j]["text"][:80]))
    if len(theirs) != len(ours):
        report.error = f"slide counts differ: remark {len(theirs)}, labdeck {len(ours)}"
    return report


def _where(folder: Path, info: dict, index: int) -> str:
    if not info.get("source"):
        return f"slide {index + 1}"
    path = folder / info["source"]
    try:
        shown = os.path.relpath(path)
    except ValueError:
        shown = str(path)
    if shown.startswith("../../"):
        shown = str(path)
    return f"{shown}:{info.get('line') or 1}"


def compare(manifests: list[Path], reference: Path | None = None, browser_path: str | None = None) -> list[DeckReport]:
    from .browser import launch
    reports = []
    with launch(path=browser_path) as browser:
        for manifest in manifests:
            try:
                reports.append(compare_deck(manifest, browser, reference))
            except CompareError as e:
                reports.append(DeckReport(Path(manifest).stem, error=str(e)))
    return reports


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m labdeck.compare",
                                description="Compare labdeck's slides with markmaker + remark's, slide by slide.")
    p.add_argument("manifests", nargs="+", type=Path, metavar="MANIFEST")
    p.add_argument("--reference", type=Path, metavar="DIR",
                   help="folder with markmaker.py, remark.min.js, workshop.html/.css "
                        "(default: reference/ beside the manifest's folder)")
    p.add_argument("--browser", metavar="PATH", help="Chromium to run (default: as for `check`)")
    p.add_argument("--summary", action="store_true", help="print only the per-deck shares")
    args = p.parse_args(argv)
    from .browser import ChromiumNotFound
    missing = [m for m in args.manifests if not m.is_file()]
    if missing:
        print(f"{missing[0]}: error: no such manifest", file=sys.stderr)
        return 2
    try:
        reports = compare(args.manifests, args.reference, args.browser)
    except ChromiumNotFound as e:
        print(f"compare: error: {e}", file=sys.stderr)
        return 2
    failed = False
    for report in reports:
        if not args.summary:
            for diff in report.diffs:
                print(diff)
        failed |= report.error is not None
    for report in reports:
        print(report.summary())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
