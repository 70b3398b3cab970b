"""Mermaid diagrams rendered to inline SVG at build time, offline.

In container.training a `<pre class="mermaid">` block is drawn in the
browser by mermaid.js from a CDN. Our decks must work with no network, so
we run mermaid (the npm package, pinned with all its dependencies by
labdeck/node/package-lock.json) once at build time in Chromium and inline
the SVG it makes. mermaid is found in $LABDECK_MERMAID, in a checkout's
labdeck/node/node_modules (`./dev` runs `npm ci` there), or in the build
cache folder, where `npm ci` installs the same lock on first use.
The pin is mermaid 11, the major version container.training's page imports
(`mermaid@11`): 12 lays flowcharts out with ELK by default, 11 with dagre, so
only 11 draws them as the authors see them.

Usage from the renderer, after each slide's HTML is rendered:

    apply_mermaid(slides, cache_dir, diags)        # one call for a whole deck

or step by step:

    diagrams = [Diagram(src, slide.pos.path, slide.pos.line)
                for slide in slides for src in find_mermaid_blocks(slide.html)]
    svgs = render_mermaid(diagrams, cache_dir, diags)
    slide.html = replace_mermaid_blocks(slide.html, svgs, scope=f"s{slide.number}")

Every SVG is cached in `cache_dir/mermaid/<sha256>.svg` (key: mermaid
version + our render settings + the source), and a syntax error in
`<sha256>.err`, so a warm build never launches a browser and still warns.
When mermaid or Chromium is missing we warn once and return no SVG for the
uncached diagrams: their `<pre class="mermaid">` stays as text.
"""
from __future__ import annotations

import hashlib
import html as htmllib
import json
import os
import re
import shutil
import weakref
from pathlib import Path
from typing import Iterable, NamedTuple

from labdeck.diagnostics import Diagnostics
from labdeck.write import write_atomic      # two builds may share the cache: no half-written file

NODE = Path(__file__).resolve().parent / "node"          # package.json + package-lock.json (package data)
MERMAID_DIR = NODE / "node_modules" / "mermaid"          # a checkout, after `npm ci` in NODE
MERMAID_VERSION = json.loads((NODE / "package.json").read_text(encoding="utf-8"))["dependencies"]["mermaid"]

# What we pass to mermaid.initialize; part of the cache key, so changing it
# re-renders everything.
MERMAID_CONFIG = {"startOnLoad": False, "securityLevel": "strict", "theme": "default"}
RENDER_TIMEOUT_MS = 30_000


class Diagram(NamedTuple):
    """A diagram source (as mermaid reads it: the `<pre>`'s textContent) and
    where it comes from, for warnings. `line` may be the slide's first line."""
    source: str
    path: str
    line: int | None = None


# --- finding and replacing blocks in rendered HTML -------------------------

# markdown-it passes the block through as raw HTML, so we see it verbatim.
# A class attribute containing the word "mermaid"; not yet processed.
_BLOCK_RE = re.compile(
    r"""<pre\b(?P<attrs>[^>]*?\bclass\s*=\s*(?P<q>["'])(?:[^"']*\s)?mermaid(?:\s[^"']*)?(?P=q)[^>]*)>"""
    r"""(?P<body>.*?)</pre\s*>""",
    re.IGNORECASE | re.DOTALL)
_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
# A tag starts with `<` + letter (HTML tokenizer rule), so `A <--> B` stays text.
_TAG_RE = re.compile(r"</?[A-Za-z][^>]*>")
_SVG_ID_RE = re.compile(r"""^\s*<svg\b[^>]*?\bid=["']([^"']+)["']""")


def _text_content(body: str) -> str:
    """What `pre.textContent` would be: tags and comments dropped, entities
    decoded, and the one newline the HTML parser eats after `<pre>` removed."""
    text = _COMMENT_RE.sub("", body)
    text = _TAG_RE.sub("", text)
    text = htmllib.unescape(text)
    if text.startswith("\r\n"):
        return text[2:]
    if text.startswith("\n"):
        return text[1:]
    return text


def _blocks(html: str):
    for m in _BLOCK_RE.finditer(html):
        if "data-processed" in m.group("attrs").lower():
            continue
        yield m, _text_content(m.group("body"))


def find_mermaid_blocks(html: str) -> list[str]:
    """The sources of the `<pre class="mermaid">` blocks in `html`, in order."""
    return [src for _, src in _blocks(html)]


def replace_mermaid_blocks(html: str, svgs: dict[str, str], scope: str = "") -> str:
    """Put each rendered SVG inside its `<pre class="mermaid">` (the DOM mermaid.js
    itself leaves: same element, `data-processed="true"`); blocks without an SVG
    stay as they are.

    Ids: an SVG's id (and its `#id` styles, marker ids...) is renamed to
    `<id>-<scope><n>`, n counting blocks in this `html`, so the same diagram on
    several slides never repeats an id. Pass a scope unique in the document for
    each fragment, e.g. `s12` for slide 12."""
    out, pos, n = [], 0, 0
    for m, src in _blocks(html):
        svg = svgs.get(src)
        if svg is None:
            continue
        n += 1
        m_id = _SVG_ID_RE.match(svg)
        if m_id:
            old = m_id.group(1)
            svg = svg.replace(old, f"{old}-{scope}{n}")
        out.append(html[pos:m.start()])
        out.append(f'<pre{m.group("attrs")} data-processed="true">{svg}</pre>')
        pos = m.end()
    out.append(html[pos:])
    return "".join(out)


# --- rendering --------------------------------------------------------------

def mermaid_version(mermaid_dir: Path = MERMAID_DIR) -> str | None:
    try:
        return json.loads((mermaid_dir / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def locate(cache_dir: Path, install: bool = True) -> tuple[Path | None, str]:
    """(the mermaid package folder, "") or (None, why not). Looks in
    $LABDECK_MERMAID, the checkout's node_modules, then `cache_dir/npm/VERSION/`,
    where `npm ci` installs our lock file on first use (from npm's own cache
    when it can)."""
    env = os.environ.get("LABDECK_MERMAID")
    if env:
        return (Path(env), "") if mermaid_version(Path(env)) else (None, f"LABDECK_MERMAID={env}: no mermaid package there")
    if mermaid_version(MERMAID_DIR):
        return MERMAID_DIR, ""
    prefix = cache_dir.resolve() / "npm" / MERMAID_VERSION
    local = prefix / "node_modules" / "mermaid"
    if mermaid_version(local) == MERMAID_VERSION:
        return local, ""
    if not install:
        return None, f"mermaid {MERMAID_VERSION} not installed in {prefix}"
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm not found: install Node.js (npm), or set LABDECK_MERMAID to a mermaid package folder"
    import subprocess
    import sys
    print(f"labdeck: installing mermaid {MERMAID_VERSION} with npm into {prefix} (first use)",
          file=sys.stderr, flush=True)
    try:
        prefix.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(NODE / name, prefix / name)
        proc = subprocess.run([npm, "ci", "--prefix", str(prefix), "--omit=dev", "--no-audit", "--no-fund",
                               "--prefer-offline", "--loglevel=error"],
                              capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"npm ci (mermaid {MERMAID_VERSION}) in {prefix} failed: {e}"
    if proc.returncode != 0 or mermaid_version(local) != MERMAID_VERSION:
        why = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"npm ci (mermaid {MERMAID_VERSION}) in {prefix} failed: {why}"
    return local, ""


def _key(version: str, source: str) -> str:
    h = hashlib.sha256()
    h.update(f"mermaid {version}\n{json.dumps(MERMAID_CONFIG, sort_keys=True)}\n".encode())
    h.update(source.encode())
    return h.hexdigest()


def _one_line_error(message: str) -> str:
    """Mermaid's parse errors are 4 lines (message, excerpt, caret, expected);
    keep the first and last, shortened."""
    lines = [l.strip() for l in message.strip().splitlines() if l.strip()]
    if not lines:
        return "unknown error"
    text = lines[0] if len(lines) == 1 else f"{lines[0].rstrip(':')}: {lines[-1]}"
    return text if len(text) <= 240 else text[:237] + "..."


# The drawing page: mermaid's ES module build, imported from its file (Chromium allows that with
# --allow-file-access-from-files), so that only the chunks of the diagram kinds met are loaded and
# compiled (mermaid 11, a flowchart: 0.9 MB in 27 modules of the 3.6 MB the one-file build
# parses). The page is written with the diagrams known at launch and draws them on its own, one
# after the other, as soon as mermaid is loaded: nothing of ours runs meanwhile. `drawn[key]` is
# each one's result; `draw` adds one.
_PAGE = """<!doctype html><meta charset="utf-8"><script>
window.ready = import(%(module)s).then(m => { window.mermaid = m.default; mermaid.initialize(%(config)s); return true; });
let queue = window.ready;
const drawOne = async (id, src) => {
  try {
    const { svg } = await mermaid.render(id, src);
    return { svg };
  } catch (e) {
    // mermaid may leave its scratch element behind after an error
    document.getElementById('d' + id)?.remove();
    return { error: String((e && e.message) || e) };
  }
};
window.draw = (id, src) => (queue = queue.then(() => drawOne(id, src)));
window.drawn = {};
for (const [key, id, src] of %(jobs)s) window.drawn[key] = draw(id, src);
</script>"""
ENTRY = Path("dist") / "mermaid.esm.min.mjs"       # in the mermaid package


def _svg_id(key: str) -> str:
    return f"mermaid-{key[:16]}"


class DrawingProcess:
    """`python -m labdeck.mermaid`, drawing diagrams in the background with Playwright: a process
    of its own, not a thread (the build forks its render workers, which threads forbid, and a
    forked worker must not inherit a Playwright connection). Started with the diagrams known so
    far (key -> source), written into its page, which draws them at once; `results()` collects
    those and draws any other asked for. Raises OSError when the process cannot start.
    (Two pages drawing at once were slower on 2 cores: the second one pays mermaid's load and
    warm-up again.)"""

    def __init__(self, sources: dict[str, str], mermaid_js: Path, browser_path: str, cache_dir: Path | None = None):
        import subprocess
        import sys
        self.owner = os.getpid()        # a forked render worker inherits this object: never its to stop
        self.answered = False           # every diagram asked for came back: it closes its browser alone
        env = None
        if cache_dir is not None and "NODE_COMPILE_CACHE" not in os.environ:
            # Playwright's Node.js driver compiles ~1 CPU-s of JavaScript at each start: Node keeps
            # the compiled code there for the next drawing (-0.2 CPU-s; a folder it cannot write is ignored)
            env = dict(os.environ, NODE_COMPILE_CACHE=str(Path(cache_dir).resolve() / "node-compile-cache"))
        self.proc = subprocess.Popen([sys.executable, "-m", "labdeck.mermaid", str(mermaid_js), browser_path],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=Path(__file__).resolve().parent.parent, env=env)
        try:                            # line 1: what its page draws at once
            self.proc.stdin.write(json.dumps(sources).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:                 # it died: results() says why
            pass

    def results(self, todo: dict[str, str]) -> dict[str, dict]:
        """key -> {"svg": ...} or {"error": ...} for each of `todo` (key -> source). Raises
        RuntimeError when the browser cannot start or mermaid cannot load; a diagram that hangs
        or kills the page gets a "transient" error (not cached). Returns as soon as every one is
        answered: the process then closes its browser and exits on its own (~0.2 s) while the
        build goes on."""
        import selectors
        import subprocess
        import time
        deadline = time.monotonic() + RENDER_TIMEOUT_MS / 1000 * (2 + len(todo))
        try:                            # line 2: what the build wants back
            self.proc.stdin.write(json.dumps(todo).encode() + b"\n")
            self.proc.stdin.close()
        except OSError:                 # it died: its stderr says why
            pass
        results: dict[str, dict] = {}
        out, err = bytearray(), bytearray()
        with selectors.DefaultSelector() as streams:
            streams.register(self.proc.stdout, selectors.EVENT_READ, out)
            streams.register(self.proc.stderr, selectors.EVENT_READ, err)   # read too: a full pipe would block it
            while streams.get_map() and not todo.keys() <= results.keys():
                left = deadline - time.monotonic()
                ready = streams.select(left) if left > 0 else []
                if not ready:
                    self.close()
                    raise subprocess.TimeoutExpired(self.proc.args, RENDER_TIMEOUT_MS / 1000 * (2 + len(todo)))
                for key, _ in ready:
                    data = os.read(key.fd, 1 << 16)
                    if not data:
                        streams.unregister(key.fileobj)
                    key.data.extend(data)
                while b"\n" in out:
                    line, _, rest = bytes(out).partition(b"\n")
                    out[:] = rest
                    item = json.loads(line)
                    results[item.pop("key")] = item
        if todo.keys() <= results.keys():
            self.answered = True
        else:
            self.proc.wait()
            if not results:
                why = err.decode("utf-8", "replace").strip().splitlines()
                raise RuntimeError((why or [f"exit status {self.proc.returncode}"])[-1])
        return {k: v for k, v in results.items() if k in todo}

    def close(self) -> None:
        """Stops the process, unless it answered everything (it is then closing its browser)."""
        if os.getpid() == self.owner and self.proc.poll() is None and not self.answered:
            self.proc.kill()
            self.proc.wait()


def _serve(mermaid_js: str, browser_path: str) -> int:
    """The drawing process: reads the diagrams its page draws at once (a JSON object, key ->
    source, on the first line of stdin), launches the browser on that page, then reads the
    diagrams wanted back (second line) and answers one {"key", "svg"|"error"} line each."""
    import sys
    import tempfile
    from labdeck.browser import LAUNCH_ARGS, launch

    line = sys.stdin.readline()
    if not line:                        # the build went away before asking anything
        return 0
    first = json.loads(line)
    try:
        with tempfile.TemporaryDirectory(prefix="labdeck-mermaid-") as tmp, \
                launch(path=browser_path, args=[*LAUNCH_ARGS, "--allow-file-access-from-files"]) as browser:
            jobs = json.dumps([[key, _svg_id(key), src] for key, src in first.items()])
            host = Path(tmp) / "draw.html"
            host.write_text(_PAGE % {"module": json.dumps(Path(mermaid_js).resolve().as_uri()),
                                     "config": json.dumps(MERMAID_CONFIG),
                                     "jobs": jobs.replace("<", "\\u003c")},     # no `</script>` inside
                            encoding="utf-8")
            page = browser.new_page()
            page.set_default_timeout(RENDER_TIMEOUT_MS)
            page.goto(host.as_uri())            # the page's script has run: its drawing is under way
            todo = json.loads(sys.stdin.readline() or "{}")
            page.evaluate("window.ready")       # mermaid loaded, or its error raised
            for key, src in todo.items():
                try:
                    result = page.evaluate("([key, id, src]) => drawn[key] || draw(id, src)",
                                           [key, _svg_id(key), src])
                except Exception as e:          # a diagram that hangs or kills the page: not cached
                    result = {"error": _one_line_error(str(e)), "transient": True}
                print(json.dumps({"key": key, **result}), flush=True)
    except Exception as e:
        print(f"mermaid did not draw: {_one_line_error(str(e))}", file=sys.stderr)
        return 1
    return 0


def _render_in_browser(todo: dict[str, str], mermaid_js: Path, browser_path: str,
                       cache_dir: Path | None = None) -> dict[str, dict]:
    """key -> {"svg": ...} or {"error": ...}, for all `todo` (key -> source), in one Chromium
    launch and one page; `mermaid_js` is the package's ES module entry (ENTRY). Raises on a
    browser that cannot start or a mermaid that cannot load."""
    drawing = DrawingProcess(todo, mermaid_js, browser_path, cache_dir)
    try:
        return drawing.results(todo)
    finally:
        drawing.close()


def render_mermaid(diagrams: Iterable[Diagram | tuple[str, str, int | None]],
                   cache_dir: Path, diags: Diagnostics,
                   browser_path: str | None = None,
                   mermaid_dir: Path | None = None,
                   early: "EarlyDiagrams | None" = None) -> dict[str, str]:
    """Map each diagram source to its SVG (sources that failed or could not be
    rendered are absent). Diagrams are `(source, path, line)`: the position is
    only used for warnings, once per distinct source (its first occurrence).
    Uncached ones are rendered in one Chromium launch (`browser_path`, else
    labdeck.browser.drawing_browser_path()'s choice); cached ones need neither Chromium
    nor a browser launch. `mermaid_dir`: the mermaid package (default: see locate()).
    With `early` (started while the decks were parsed), its browser draws them."""
    first: dict[str, Diagram] = {}
    for d in diagrams:
        d = Diagram(*d)
        first.setdefault(d.source, d)
    if not first:
        return {}

    if mermaid_dir is None:
        mermaid_dir, problem = locate(Path(cache_dir))
    else:
        problem = f"{mermaid_dir} not found (run `npm ci` in a checkout, or set LABDECK_MERMAID)"
    version = mermaid_version(mermaid_dir) if mermaid_dir else None
    if version is None:
        d = next(iter(first.values()))
        diags.warning(d.path, d.line, f"mermaid diagrams left as text: {problem}")
        return {}

    cache = Path(cache_dir) / "mermaid"
    svgs: dict[str, str] = {}
    todo: dict[str, str] = {}         # key -> source
    errors: dict[str, str] = {}       # source -> message
    for src in first:
        key = _key(version, src)
        try:
            svgs[src] = (cache / f"{key}.svg").read_text(encoding="utf-8")
            continue
        except OSError:
            pass
        try:
            errors[src] = (cache / f"{key}.err").read_text(encoding="utf-8")
            continue
        except OSError:
            pass
        todo[key] = src

    if todo:
        from labdeck.browser import ChromiumNotFound, drawing_browser_path

        mermaid_js = mermaid_dir / ENTRY
        d = first[next(iter(todo.values()))]
        problem = None
        if not mermaid_js.is_file():
            problem = f"{mermaid_js} not found (run `npm ci` in a checkout, or set LABDECK_MERMAID)"
        else:
            try:
                browser_path = drawing_browser_path(browser_path)
            except ChromiumNotFound as e:
                problem = str(e)
        if problem:
            diags.warning(d.path, d.line, f"{len(todo)} mermaid diagram(s) left as text: {problem}")
        else:
            try:
                if early is not None and early.started:
                    results = early.results(todo)
                else:
                    results = _render_in_browser(todo, mermaid_js, browser_path, cache_dir)
            except Exception as e:
                diags.warning(d.path, d.line, f"{len(todo)} mermaid diagram(s) left as text: "
                              f"rendering in Chromium failed: {_one_line_error(str(e))}")
                results = {}
            for key, res in results.items():
                src = todo[key]
                if "svg" in res:
                    svgs[src] = res["svg"]
                    write_atomic(cache / f"{key}.svg", res["svg"])
                else:   # a syntax error is cached too, so warm builds still warn
                    errors[src] = _one_line_error(res.get("error", ""))
                    if not res.get("transient"):
                        write_atomic(cache / f"{key}.err", errors[src])

    for src, message in errors.items():
        d = first[src]
        diags.warning(d.path, d.line, f"mermaid diagram not rendered: {message}")
    return svgs


def apply_mermaid(slides, cache_dir: Path, diags: Diagnostics,
                  browser_path: str | None = None, early: "EarlyDiagrams | None" = None) -> int:
    """Render the mermaid blocks of rendered slides (model.Slide: `.html`,
    `.pos`, `.number`) in place; returns how many blocks got an SVG."""
    slides = list(slides)
    found = [(s, find_mermaid_blocks(s.html)) for s in slides]
    diagrams = [Diagram(src, s.pos.path, s.pos.line) for s, srcs in found for src in srcs]
    if not diagrams:
        return 0
    svgs = render_mermaid(diagrams, cache_dir, diags, browser_path, early=early)
    count = 0
    for s, srcs in found:
        if srcs:
            s.html = replace_mermaid_blocks(s.html, svgs, scope=f"s{s.number}-")
            count += sum(1 for src in srcs if src in svgs)
    return count


# --- drawing while the build parses ------------------------------------------

class EarlyDiagrams:
    """A diagram browser started as soon as the build meets a mermaid block.

    Launching Chromium and loading mermaid takes seconds: `look_ahead()` the
    manifests before parsing (or `feed()` Markdown texts), and the uncached
    diagrams found start a DrawingProcess, whose page draws them while the build
    goes on (in processes of their own: the build runs no thread, so it may still
    fork its render workers). `results()` then collects them; a build that fails
    before drops the object, which stops the process."""

    def __init__(self, cache_dir: Path, browser_path: str | None = None, mermaid_dir: Path | None = None):
        self.cache = Path(cache_dir) / "mermaid"
        self.browser_path = browser_path
        self.mermaid_dir = mermaid_dir
        self.version = None
        self.drawing: DrawingProcess | None = None
        self.found: dict[str, str] = {}         # key -> source, uncached, not yet handed to a browser
        self.disabled = False
        self._close = None

    @property
    def started(self) -> bool:
        return self.drawing is not None

    def feed(self, text: str) -> None:
        """Start drawing the uncached diagrams of a Markdown text (a raw `<pre class="mermaid">`
        passes through Markdown as it is: its textContent is already known here)."""
        self._collect(text)
        self._start()

    def _collect(self, text: str) -> None:
        if self.disabled or self.started or "mermaid" not in text:
            return                      # once started, results() draws what the page was not given
        for _, src in _blocks(text):
            if self.version is None:
                if self.mermaid_dir is None:
                    self.mermaid_dir = locate(self.cache.parent)[0]     # may install it (first use)
                self.version = mermaid_version(self.mermaid_dir) if self.mermaid_dir else None
                if self.version is None:
                    self.disabled = True        # render_mermaid will say why
                    return
            key = _key(self.version, src)
            if key in self.found or (self.cache / f"{key}.svg").exists() or (self.cache / f"{key}.err").exists():
                continue
            self.found[key] = src

    def look_ahead(self, manifests, source_root: Path | None = None) -> None:
        """Feed the chapter files the manifests name, before the build parses anything: the
        browser then starts (and mermaid loads) while the first decks are parsed, not when
        the first deck with a diagram is done, with every diagram found given to it at once.
        A guess from the raw files (a block that ends up excluded is drawn for nothing); what
        parsing finds is fed afterwards all the same."""
        from labdeck.manifest import load_manifest
        seen: set[Path] = set()

        def paths(items):
            for item in items:
                if item.is_group:
                    yield from paths(item.children)
                elif item.path is not None:
                    yield item.path
                elif item.text is not None:
                    self._collect(item.text)

        for manifest in manifests:
            try:
                m = load_manifest(Path(manifest), Diagnostics())
            except Exception:           # the build reports it
                continue
            root = Path(source_root) if source_root else m.path.parent
            for rel in paths(m.content):
                path = root / rel
                if path in seen:
                    continue
                seen.add(path)
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                if b"mermaid" in data:
                    self._collect(data.decode("utf-8", "replace").replace("\r\n", "\n"))
        self._start()

    def _start(self) -> bool:
        if self.disabled or self.started or not self.found:
            return False
        from labdeck.browser import ChromiumNotFound, drawing_browser_path
        mermaid_js = self.mermaid_dir / ENTRY
        try:
            browser = drawing_browser_path(self.browser_path)
            if not mermaid_js.is_file():
                raise FileNotFoundError(mermaid_js)
            self.drawing = DrawingProcess(self.found, mermaid_js, browser, self.cache.parent)
        except (ChromiumNotFound, OSError):
            self.disabled = True                # render_mermaid will say why
            return False
        self._close = weakref.finalize(self, self.drawing.close)
        return True

    def results(self, todo: dict[str, str]) -> dict[str, dict]:
        """key -> {"svg"} or {"error"} for every key of `todo` (key -> source); the browser is
        closed after."""
        drawing, self.drawing = self.drawing, None
        try:
            return drawing.results(todo)
        finally:
            self._close()


if __name__ == "__main__":
    import sys
    sys.exit(_serve(*sys.argv[1:3]))
