"""Benchmark: `python -m labdeck.bench [--corpus DIR] [--check] [--watch]`.

Builds every manifest of the corpus into a temporary folder, each build in a
fresh process, and prints:
- cold build: empty build cache (diagram SVGs excepted, see below), seconds;
- cold build with diagrams: nothing cached at all (mermaid runs in Chromium);
- warm build: nothing changed, seconds (median of 5);
- peak RSS of the build process;
- kube-selfpaced's first slide visible in Chromium (first contentful paint, ms);
- the player's search (`/`) on kube-selfpaced: each keystroke → the found slide painted (ms);
- with --check: time to check every slide of kube-selfpaced in Chromium;
- with --watch: one-line edit of a kube-selfpaced chapter → rebuilt deck, and → reloaded page;
- the reference, same machine, same run: container.training's markmaker.py on
  every manifest (each in a fresh process), and our cold builds as ratios of it.
- with --pdf: kube-halfday printed to PDF, as before (one print call) and as `pdf` does it.
Numbers, not assertions: tests never time anything.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# ../shared from the repository root (../../shared from a clone under wt/)
DEFAULT_CORPUS = next((p for p in (REPO.parent / "shared/corpus/container.training/slides",
                                   REPO.parent.parent / "shared/corpus/container.training/slides") if p.is_dir()),
                      REPO.parent / "shared/corpus/container.training/slides")
MARKMAKER = "reference/markmaker.py"        # next to the corpus's slides/ folder


CPU: dict[str, list[float]] = {}     # CPU seconds (user + system, its reaped workers included) per kind of run


def timed(args: list[str], kind: str, tree: bool = False, **popen) -> tuple[float, int, int]:
    """Run a command: (wall seconds, peak RSS in KiB, exit status); its CPU time goes to CPU[kind]
    (on a loaded machine, CPU time compares better than wall time). With `tree`, its descendants
    are sampled in /proc too: Chromium's renderers are not reaped by the build, so its rusage
    misses them."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, **popen)
    sampled = _TreeCPU(proc.pid) if tree else None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG if tree else 0)
        if pid:
            break
        sampled.sample()
        time.sleep(0.2)        # a sample costs ~4 ms
    seconds = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime
    CPU.setdefault(kind, []).append(max(cpu, sampled.seconds()) if tree else cpu)
    return seconds, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def run_build(manifests: list[Path], out: Path, cache: Path, kind: str = "build") -> tuple[float, int, int]:
    """One build in a fresh process: (seconds, peak RSS in KiB, exit status)."""
    env = dict(os.environ, LABDECK_CACHE=str(cache))
    return timed([sys.executable, str(REPO / "build.py"), *map(str, manifests), "--out", str(out)], kind,
                 kind == "diagrams",
                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def markmaker_workspace(corpus: Path, tmp: Path) -> Path | None:
    """A folder where markmaker can run as in container.training (it reads
    workshop.html and interstitials.txt from its working folder, includes from
    `..`, and writes fragments/ there): links to the corpus, never the corpus itself."""
    reference = corpus.parent / "reference"
    if not (reference / "markmaker.py").is_file() or not (reference / "workshop.html").is_file():
        return None
    base = tmp / "markmaker"
    work = base / corpus.name
    work.mkdir(parents=True)
    for entry in corpus.parent.iterdir():
        if entry.name not in (corpus.name, "reference"):
            (base / entry.name).symlink_to(entry)
    for entry in corpus.iterdir():
        (work / entry.name).symlink_to(entry)
    (work / "workshop.html").symlink_to(reference / "workshop.html")
    return work


def run_markmaker(work: Path, manifests: list[Path], markmaker: Path) -> tuple[float, int]:
    """markmaker.py on every manifest, one fresh process each (as its Makefile
    does): (total seconds, how many failed)."""
    env = dict(os.environ, LOG_LEVEL="ERROR")
    total, failed = 0.0, 0
    cpu = 0.0
    for manifest in manifests:
        with open(work / f"{manifest.name}.html", "wb") as out:
            seconds, _, status = timed([sys.executable, str(markmaker), manifest.name], "markmaker-one",
                                       cwd=work, env=env, stdout=out, stderr=subprocess.DEVNULL)
        total += seconds
        cpu += CPU["markmaker-one"].pop()
        failed += status != 0
    CPU.setdefault("markmaker", []).append(cpu)
    return total, failed


def first_slide_ms(html: Path, browser_path: str | None = None) -> float:
    """Navigation → first contentful paint (the first slide is the only thing painted)."""
    from .browser import launch
    with launch(path=browser_path) as browser:
        times = []
        for _ in range(5):
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(html.as_uri(), wait_until="commit")
            page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0")
            times.append(page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime"))
            page.close()
    return statistics.median(times)


# Each key event → the next frame painted after the player handled it (capture listener: runs first).
_KEY_LATENCY = """window.__keyMs = [];
window.addEventListener('keydown', e => { const t = e.timeStamp;
  requestAnimationFrame(() => setTimeout(() => window.__keyMs.push(performance.now() - t), 0)); }, true);"""


def search_keystroke_ms(html: Path, browser_path: str | None = None,
                        query: str = "kubectl get pods") -> tuple[list[float], float, list[float]]:
    """Ten page turns (→) for reference, `/`, then `query` typed and erased one key at a
    time: (ms per page turn, ms for `/`, ms per keystroke), each key up to the next painted frame."""
    from .browser import launch
    with launch(path=browser_path) as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(html.as_uri())
        page.wait_for_function("window.slideshow && slideshow.getCurrentSlideIndex() >= 0")
        page.evaluate(_KEY_LATENCY)
        keys = ["ArrowRight"] * 10 + ["/"] + list(query) + ["Backspace"] * len(query)
        for n, key in enumerate(keys, 1):
            page.keyboard.press(key)
            page.wait_for_function(f"window.__keyMs.length >= {n}")
        times = page.evaluate("window.__keyMs")
        assert page.evaluate("document.querySelector('.labdeck-search-count').textContent") == "", "query erased"
    return times[:10], times[10], times[11:]


def measure_watch(slides: Path, tmp: Path, diagrams: Path, browser_path: str | None = None,
                  edits: int = 3) -> dict:
    """`build.py --serve` on kube-selfpaced, as an author runs it (its own process),
    the deck open in Chromium; one-line edits to a chapter: edit → deck written
    (the HTML file's mtime changes) → reloaded page painted (first contentful paint)."""
    from .browser import launch
    manifest, chapter = slides / "kube-selfpaced.yml", slides / "k8s" / "kubectlget.md"
    out, cache = tmp / "watch-out", tmp / "watch-cache"
    full_cold, _, _ = run_build([manifest], tmp / "watch-out-full", tmp / "watch-cache-full")
    cache.mkdir()
    if (diagrams / "mermaid").is_dir():
        shutil.copytree(diagrams / "mermaid", cache / "mermaid")
    cold, _, rc = run_build([manifest], out, cache)
    html = out / "kube-selfpaced.html"
    slide_list = __import__("labdeck.model").model.load_summaries(out)["kube-selfpaced"]["slide_list"]
    original = chapter.read_text(encoding="utf-8")
    lines = original.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("## "))
    number = max(s["number"] for s in slide_list if s["source"] == "k8s/kubectlget.md" and s["line"] <= at + 1)
    env = dict(os.environ, LABDECK_CACHE=str(cache))
    proc = subprocess.Popen([sys.executable, str(REPO / "build.py"), str(manifest), "--serve", "--port", "0",
                             "--out", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    written, painted = [], []
    try:
        url = None
        for line in proc.stdout:
            if line.startswith("serving "):
                url = line.split(" at ", 1)[1].split()[0]
                break
        if url is None:
            raise RuntimeError("the dev server did not start")
        with launch(path=browser_path) as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"{url}kube-selfpaced.html#{number}")
            page.wait_for_function("window.labdeckLiveReload && window.labdeckLiveReload.handled >= 1")
            for i in range(edits):
                page.evaluate("window.__notReloaded = true")
                before = html.stat().st_mtime_ns
                lines[at] = lines[at].split(" (edit")[0] + f" (edit {i + 1})"
                edited = time.time()
                chapter.write_text("\n".join(lines), encoding="utf-8")
                while html.stat().st_mtime_ns == before:
                    time.sleep(0.002)
                written.append(time.time() - edited)
                page.wait_for_function("!window.__notReloaded && window.slideshow", timeout=30_000)
                fcp = page.evaluate("performance.timeOrigin + "
                                    "performance.getEntriesByName('first-contentful-paint')[0].startTime")
                painted.append(fcp / 1000 - edited)
                assert f"(edit {i + 1})" in page.inner_text(".remark-visible")
    finally:
        chapter.write_text(original, encoding="utf-8")
        proc.terminate()
        proc.wait(10)
    w, p = statistics.median(written), statistics.median(painted)
    return {"cold build of kube-selfpaced alone, nothing cached": f"{full_cold:.2f} s",
            "cold build of kube-selfpaced alone, diagram SVGs kept": f"{cold:.2f} s",
            f"edit → deck written (median of {edits})": f"{w:.3f} s = {100 * w / full_cold:.1f}% of the cold "
                                                        f"build, {100 * w / cold:.1f}% with diagram SVGs kept",
            f"edit → reloaded slide painted (median of {edits})": f"{p:.3f} s ({p - w:.3f} s after the write)"}


PDF_JOB = """
import json, sys
from pathlib import Path
from labdeck.pdf import print_pdf
html, pdf, cache, browser, mode = sys.argv[1:6]
slide_list = json.loads((Path(html).parent / "build.json").read_text())["decks"][Path(html).stem]["slide_list"]
options = dict(workers=1, run=10 ** 6, raster=False) if mode == "one-call" else {}
done = print_pdf(Path(html), Path(pdf), slide_list, cache=Path(cache), browser_path=browser or None, **options)
sys.exit(0 if done.pages == done.slides else 1)
"""


def measure_pdf(html: Path, tmp: Path, browser_path: str | None = None) -> dict:
    """The deck printed in a fresh process: wall seconds and CPU seconds of the process
    and everything it started (Chromium included), which the machine's load does not inflate."""
    out = {}
    cache = tmp / "pdf-cache"
    for label, mode in (("one print call, one page (before)", "one-call"),
                        ("runs in parallel pages + pypdf merge, SVG pictures drawn", "runs"),
                        ("same, pictures cached", "runs")):
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", PDF_JOB, str(html), str(tmp / f"{mode}.pdf"), str(cache),
                                 browser_path or "", mode], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu = _TreeCPU(proc.pid)
        while proc.poll() is None:
            cpu.sample()
            time.sleep(0.2)
        wall = time.perf_counter() - started
        ok = "" if proc.returncode == 0 else " (FAILED)"
        out[label] = (wall, cpu.seconds(), ok)
    return out


class _TreeCPU:
    """CPU seconds of a process and all its descendants (Chromium's processes are not
    reaped by ours, so rusage misses them): /proc sampled until the process ends."""

    def __init__(self, pid: int):
        self.root, self.seen = pid, {}
        self.tick = os.sysconf("SC_CLK_TCK")

    def sample(self) -> None:
        parents, times = {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            times[int(entry)] = (int(fields[11]) + int(fields[12])) / self.tick
        for pid, t in times.items():
            p, hops = pid, 0
            while p not in (self.root, 0, 1) and p in parents and hops < 20:
                p, hops = parents[p], hops + 1
            if p == self.root:
                self.seen[pid] = max(self.seen.get(pid, 0.0), t)

    def seconds(self) -> float:
        return sum(self.seen.values())


def byte_compile() -> bool:
    """Write labdeck's .pyc files when this environment forbids Python to (an installed wheel has
    them; a checkout gets them at its first run, except under PYTHONDONTWRITEBYTECODE): true if done."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return False
    import compileall
    try:
        return bool(compileall.compile_dir(str(REPO / "labdeck"), quiet=1))
    except OSError:             # a read-only installation: measured as it is
        return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m labdeck.bench", description=__doc__.split("\n")[0])
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of manifests (default: the shared corpus)")
    p.add_argument("--runs", type=int, default=3, help="cold runs (median)")
    p.add_argument("--check", action="store_true", help="also time `check` on kube-selfpaced")
    p.add_argument("--watch", action="store_true", help="also time an edit → rebuild → reload on kube-selfpaced")
    p.add_argument("--pdf", action="store_true", help="also time `pdf` on kube-halfday (and the one-call way)")
    p.add_argument("--browser", help="Chromium to use")
    args = p.parse_args(argv)
    manifests = sorted(args.corpus.glob("*.yml"))
    if not manifests:
        print(f"bench: error: no manifest in {args.corpus}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="labdeck-bench-"))
    try:
        print(f"corpus: {args.corpus} ({len(manifests)} manifests), {os.cpu_count()} cores")
        if byte_compile():
            print("labdeck's modules byte-compiled first, as pip does when it installs a wheel "
                  "(PYTHONDONTWRITEBYTECODE is set here: each build would compile them again)")
        # Diagrams first: their SVGs are a cache of their own (keyed by source and mermaid version).
        diagrams = tmp / "diagrams"
        seconds, rss, rc = run_build(manifests, tmp / "out0", diagrams, "diagrams")
        if rc != 0:
            print(f"bench: error: the build failed (exit {rc})", file=sys.stderr)
            return 1
        cold_full = seconds
        print(f"cold build, nothing cached (mermaid diagrams rendered in Chromium): {seconds:.2f} s, "
              f"peak RSS {rss / 1024:.0f} MB (its largest process)")
        # markmaker runs between our cold builds: both see the same load on the machine.
        markmaker = args.corpus.parent / MARKMAKER
        work = markmaker_workspace(args.corpus, tmp)
        colds, rsss, marks = [], [], []
        for i in range(args.runs):
            if work is not None:
                seconds, failed = run_markmaker(work, manifests, markmaker)
                if not failed:
                    marks.append(seconds)
            cache = tmp / f"cache{i}"
            cache.mkdir()
            if (diagrams / "mermaid").is_dir():
                shutil.copytree(diagrams / "mermaid", cache / "mermaid")
            seconds, rss, _ = run_build(manifests, tmp / f"out{i + 1}", cache, "cold")
            colds.append(seconds)
            rsss.append(rss)
        print(f"cold build, empty cache (diagram SVGs kept): {statistics.median(colds):.2f} s "
              f"(median of {args.runs}: {', '.join(f'{c:.2f}' for c in colds)})")
        if marks:
            mark = statistics.median(marks)
            print(f"markmaker.py, same manifests, one process each: {mark:.2f} s "
                  f"(median of {len(marks)}: {', '.join(f'{c:.2f}' for c in marks)})")
            print(f"ratio to markmaker: cold build with diagrams drawn {cold_full / mark:.2f}x (goal ≤ 1.0x), "
                  f"without (SVGs kept) {statistics.median(colds) / mark:.2f}x (goal ≤ 0.5x)")
            m_cpu = statistics.median(CPU["markmaker"])
            print(f"CPU seconds (user + system): markmaker {m_cpu:.2f}, cold build "
                  f"{statistics.median(CPU['cold']):.2f} ({statistics.median(CPU['cold']) / m_cpu:.2f}x), "
                  f"with diagrams drawn {CPU['diagrams'][0]:.2f} (Chromium's processes included) "
                  f"({CPU['diagrams'][0] / m_cpu:.2f}x)")
        else:
            print(f"markmaker.py: not measured ({markmaker} absent or failing)")
        warms = []
        for _ in range(5):
            seconds, rss, _ = run_build(manifests, tmp / f"out{args.runs}", tmp / f"cache{args.runs - 1}")
            warms.append(seconds)
            rsss.append(rss)
        print(f"warm build, nothing changed: {statistics.median(warms):.3f} s (median of 5)")
        print(f"peak RSS of a build (cold or warm, no browser): {max(rsss) / 1024:.0f} MB")
        selfpaced = tmp / f"out{args.runs}" / "kube-selfpaced.html"
        if selfpaced.is_file():
            try:
                print(f"kube-selfpaced first slide visible: {first_slide_ms(selfpaced, args.browser):.0f} ms "
                      "after navigation (first contentful paint, median of 5)")
            except Exception as e:     # no browser here: say so, the other numbers stand
                print(f"kube-selfpaced first slide: not measured ({e})")
            try:
                turns, opened, keys = search_keystroke_ms(selfpaced, args.browser)
                print(f"kube-selfpaced search: each keystroke → found slide painted: median {statistics.median(keys):.0f} ms, "
                      f"max {max(keys):.0f} ms ({len(keys)} keys typing and erasing 'kubectl get pods'); '/' {opened:.0f} ms; "
                      f"a page turn (→) for reference: median {statistics.median(turns):.0f} ms")
            except Exception as e:
                print(f"kube-selfpaced search: not measured ({e})")
            if args.check:
                from .check import check_deck_timed
                result, seconds = check_deck_timed(selfpaced.parent, "kube-selfpaced", browser_path=args.browser)
                print(f"check kube-selfpaced (every slide in Chromium, browser start included): {seconds:.1f} s, "
                      f"{len(result.errors)} error(s) found")
            if args.watch:
                # Edit a copy: the corpus itself is never touched.
                copy = tmp / "corpus"
                shutil.copytree(args.corpus.parent, copy, symlinks=True)
                numbers = measure_watch(copy / args.corpus.name, tmp, diagrams, args.browser)
                for k, v in numbers.items():
                    print(f"watch: {k}: {v}")
        halfday = tmp / f"out{args.runs}" / "kube-halfday.html"
        if args.pdf and halfday.is_file():
            results = measure_pdf(halfday, tmp, args.browser)
            base = next(iter(results.values()))
            for label, (wall, cpu, ok) in results.items():
                print(f"pdf kube-halfday, {label}: {wall:.1f} s, {cpu:.1f} CPU-s{ok} "
                      f"({base[0] / wall:.1f}x faster, {base[1] / cpu:.1f}x less CPU than one call; "
                      f"load average {os.getloadavg()[0]:.1f})")
        print("reference (issue #3): after markmaker, remark takes 0.8-2.9 s "
              "in the browser at every page load (kube-selfpaced: 2.9 s to its first slide)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
