"""The build, one function per stage: manifest → chapters → slides → render → write."""
from __future__ import annotations

import gc
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from typing import TYPE_CHECKING

from . import model
from .cache import Cache
from .diagnostics import BuildError, Diagnostics, os_error
from .memo import Caches
from .overrides import ASSETS
from .write import copy_output, output_lock, write_output

if TYPE_CHECKING:
    from .model import Deck
    from .source import Sources
    from .overrides import Templates

# Parsing and rendering modules (YAML, markdown-it, Pygments, Jinja2) are
# imported when a deck has to be built: a warm build that skips every deck
# never pays for them.


def load_deck(manifest: Path, source_root: Path | None = None, exclude: list[str] | None = None,
              render_html: bool = True, store: dict | None = None,
              caches: Caches | None = None) -> tuple[Deck, Diagnostics]:
    """Parse (and render) one deck. Raises BuildError on fatal input errors.
    `caches`: a session's memo tables (memo.py), else this call's own."""
    from .source import Sources
    sources = Sources(caches)
    deck, diags = parse_deck(manifest, source_root, exclude, sources)
    if render_html:
        render_deck(deck, diags, sources, store)
    return deck, diags


def parse_deck(manifest: Path, source_root: Path | None, exclude: list[str] | None,
               sources: Sources) -> tuple[Deck, Diagnostics]:
    """manifest → chapters → slides: the deck model, not rendered yet."""
    from .manifest import load_manifest
    from .model import Deck
    from .slides import build_slides, deck_links, deck_pieces
    from .source import Interstitials, add_title_slides, load_chapters
    from .theme import resolve_theme
    diags = Diagnostics()
    m = load_manifest(Path(manifest), diags, exclude)
    root = Path(source_root) if source_root else m.path.parent
    # each stage hands the next a finished value:
    chapters = load_chapters(m, root, sources, diags)       # texts, positions, titles
    interstitials = Interstitials(m.path.parent, sources)
    add_title_slides(chapters, interstitials)                # + @@TOC@@ and the title slides' Markdown
    pieces, models, parts = deck_pieces(chapters, diags)     # parsed slides, in deck order
    slides = build_slides(pieces, m.exclude, diags)          # the model's slides (remark's slide model)
    if not slides:
        raise BuildError(m.rel, 1, "the deck has no slides (everything excluded or empty)")
    deck = Deck(manifest=m.path, stem=m.stem, title=m.title, values=m.values, chapters=models, parts=parts,
                slides=slides, exclude=m.exclude, root=root, manifest_rel=m.rel)
    deck.theme = resolve_theme(m.values.get("theme"), m.path.parent, diags, m.rel, m.lines.get("theme", 1))
    deck.assets.update(deck.theme.files())
    deck.links = deck_links(pieces, diags)
    deck.dependencies = {m.path.resolve()} | {d for c in chapters for d in c.dependencies} | deck.theme.inputs()
    if interstitials.path:
        deck.dependencies.add(interstitials.path.resolve())
    else:
        deck.absent_inputs.add((m.path.parent / "interstitials.txt").resolve())
    for c in chapters:
        deck.assets.update(c.linked)
    if m.css:
        from .stylesheets import load_stylesheets
        css = load_stylesheets(m.css, root, m.rel, diags)
        deck.stylesheets, deck.stylesheet_links = css.files, css.links
        deck.assets.update(css.assets)
        deck.dependencies |= css.dependencies
    return deck, diags


def render_deck(deck: Deck, diags: Diagnostics, sources: Sources, store: dict | None = None) -> None:
    """Slide and notes HTML, and the local images they show. `store`: rendered
    Markdown by key, shared by the decks of a build (cache.py)."""
    from . import render
    from .markdown import Renderer
    render.render_slides(deck, Renderer(deck.links, store, sources.caches))
    deck.assets.update(render.collect_images(deck, deck.root, diags, sources.caches, sources.remote_images,
                                             sources.fetch_remote))


def plan_renders(deck: Deck, store: dict, caches: Caches) -> dict:
    """The texts of a parsed deck that the render store does not have yet."""
    from .markdown import Renderer
    jobs: dict = {}
    renderer = Renderer(deck.links, store, caches)
    renderer.plan = jobs
    for s in deck.slides:
        renderer.tree(s.content)
        if s.notes_content:
            renderer.tree(s.notes_content)
    return jobs


@dataclass
class BuildResult:
    decks: dict[str, Deck] = field(default_factory=dict)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    failed: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    stamps: dict[Path, dict] = field(default_factory=dict)   # unchanged deck → its stamp (inputs, html, assets)
    written: list[Path] = field(default_factory=list)
    roots: list[Path] = field(default_factory=list)        # source roots: where message paths start

    @property
    def ok(self) -> bool:
        return not self.failed


def default_manifests(folder: Path = Path("slides")) -> list[Path]:
    return sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml"))


def display_path(path: Path) -> str:
    from .manifest import display_path as shown
    return shown(path)


def build(manifests: list[Path], out: Path, source_root: Path | None = None, exclude: list[str] | None = None,
          strict: bool = False, make_zip: bool = False, quiet: bool = False, cache_dir: Path | None = None,
          browser: str | None = None, force: bool = False, templates: Path | None = None,
          fetch_remote: bool = False, single_file: bool = False, caches: Caches | None = None) -> BuildResult:
    """Build decks into `out`. A deck that fails leaves its previous output untouched;
    a deck whose inputs did not change since its last build is not rebuilt (unless `force`).
    One build at a time writes into `out` (a lock): stamps then describe what is on disk.
    `fetch_remote`, `single_file`: see labdeck/offline.py.
    `templates`: the project's own template folder (default: ./templates when present).
    `caches`: the memo tables of a session that builds again and again (watch mode),
    else the build makes its own (memo.py)."""
    with output_lock(out), _collector_paused():
        return _build(manifests, out, source_root, exclude, strict, make_zip, quiet, cache_dir, browser, force,
                      templates, fetch_remote, single_file, caches if caches is not None else Caches())


@contextmanager
def _collector_paused():
    """Python's cycle collector off while a build runs. A build keeps hundreds of thousands
    of objects alive until it ends (chapters, parsed slides, HTML) and makes next to no
    cyclic garbage: the collector walked them again and again for ~15% of the main
    process's CPU on the corpus. Forked render workers inherit the setting (their
    renders leave no cycles either)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build(manifests, out, source_root, exclude, strict, make_zip, quiet, cache_dir, browser, force,
           templates, fetch_remote, single_file, caches: Caches) -> BuildResult:
    from .overrides import project_templates
    result = BuildResult()
    deck_stamps = []
    cache = Cache(cache_dir)
    folders = project_templates(templates)
    options = {"source": str(Path(source_root).resolve()) if source_root else None,
               "exclude": list(exclude or []), "strict": strict,
               "templates": str(folders.custom) if folders.custom else None}
    if fetch_remote or single_file:         # absent otherwise: stamps of earlier builds stay valid
        options.update(fetch_remote=fetch_remote, single_file=single_file)
    todo = []
    for manifest in manifests:
        root = Path(source_root) if source_root else Path(manifest).parent
        if root not in result.roots:
            result.roots.append(root)
        stamp = None if force else cache.fresh_stamp(manifest, out, options)
        if stamp is not None:
            result.unchanged.append(manifest)
            result.stamps[manifest] = stamp
            if not quiet:
                print(stamp["line"])
        else:
            todo.append(manifest)
    if not todo:
        if make_zip:        # nothing to rebuild, but the zip was asked for (maybe for the first time)
            write_output(out, "slides.zip", zip_folder(out))
        return result
    # First: the diagram browser's start and mermaid's load take longer than anything here.
    from .mermaid import EarlyDiagrams
    diagrams = EarlyDiagrams(cache.folder, browser)   # draws while we parse and render (stopped when dropped)
    diagrams.look_ahead(todo, source_root)            # starts it now if a chapter file has an uncached diagram
    summaries = _read_summaries(out, caches)

    from . import render
    from .source import Sources
    sources = Sources(caches)
    if fetch_remote:
        from .offline import RemoteFetcher
        sources.fetch_remote = RemoteFetcher(cache.folder)
    env = folders.environment()
    from .markdown import RenderQueue
    queue = RenderQueue(cache.store)      # renders on the other cores while we parse the next deck
    parsed = []
    for manifest in todo:
        started = time.perf_counter()
        try:
            deck, diags = parse_deck(manifest, source_root, exclude, sources)
            for text in {t for s in deck.slides for t in (s.markdown, s.notes) if "mermaid" in t}:
                diagrams.feed(text)
            queue.add(plan_renders(deck, cache.store, caches))
        except BuildError as e:
            result.diagnostics.extend(_one(e))
            result.failed.append(manifest)
            continue
        except Exception as e:           # a bug of ours: one line, and the other decks go on
            result.diagnostics.extend(_one(_unexpected(manifest, e)))
            result.failed.append(manifest)
            continue
        parsed.append((manifest, deck, diags, time.perf_counter() - started))
    started = time.perf_counter()
    try:
        queue.finish()
    except Exception as e:
        for manifest, *_ in parsed:
            result.diagnostics.extend(_one(_unexpected(manifest, e)))
            result.failed.append(manifest)
        parsed = []
    shared = (time.perf_counter() - started) / max(1, len(parsed))   # shown evenly in the summary lines
    loaded = []
    for manifest, deck, diags, seconds in parsed:
        started = time.perf_counter()
        try:
            render_deck(deck, diags, sources, cache.store)
        except (BuildError, Exception) as e:
            result.diagnostics.extend(diags)      # the warnings found before the error still count
            result.diagnostics.extend(_one(e if isinstance(e, BuildError) else _unexpected(manifest, e)))
            result.failed.append(manifest)
            continue
        result.diagnostics.extend(diags)
        if diags.failed(strict):
            result.failed.append(manifest)
            continue
        loaded.append((manifest, deck, seconds + shared + time.perf_counter() - started))
    # While the diagram browser (started before parsing) draws, every page is assembled: those
    # with diagrams are kept to take their SVGs when they come (drawing takes longer than all the
    # rest). With nothing being drawn (SVGs cached), the SVGs go in first.
    plain, with_diagrams = [], []
    for item in loaded:
        (with_diagrams if _has_diagrams(item[1]) else plain).append(item)
    if diagrams.started:
        loaded = plain + with_diagrams
        drawn = [d for _, d, _ in with_diagrams]
        pages = _write_pages(out, [d for _, d, _ in loaded], env, caches, held=len(plain))
        before = [[(s, s.html) for s in deck.slides if 'class="mermaid"' in s.html] for deck in drawn]
        _render_diagrams(drawn, cache, diagrams, result.diagnostics)
        pages[len(plain):] = [_write_held_page(out, deck, page, changed, env, caches)
                              for deck, page, changed in zip(drawn, pages[len(plain):], before)]
    else:
        if with_diagrams:
            _render_diagrams([d for _, d, _ in with_diagrams], cache, diagrams, result.diagnostics)
        pages = _write_pages(out, [d for _, d, _ in loaded], env, caches)
    for (manifest, deck, load_seconds), (error, write_seconds) in zip(loaded, pages):
        if error is not None:
            result.diagnostics.add(error)
            result.failed.append(manifest)
            continue
        result.written.append(out / deck.html_name)
        result.decks[deck.stem] = deck
        summary = model.summary(deck, display_path(deck.manifest))
        summaries[deck.stem] = summary
        seconds = load_seconds + write_seconds
        line = f"{deck.stem}: {len(deck.slides)} slides, {{}} → {display_path(out / deck.html_name)}"
        if not quiet:
            print(line.replace("{}", f"{seconds:.2f}s", 1))
        line = line.replace("{}", "unchanged", 1)
        outputs = [out / deck.html_name] + [out / rel for rel in [*deck.assets, *deck.stylesheets]]
        deck_stamps.append((manifest, deck, outputs, line))
    if result.decks:
        write_assets(out, folders)
        if single_file:
            _write_single_files(out, result, deck_stamps)
        _write_summaries(out, summaries, model.dumps(summaries), caches)
        for rel, page in render.index_pages(summaries, env, caches, result.diagnostics).items():
            write_output(out, rel, page)
        if make_zip:
            write_output(out, "slides.zip", zip_folder(out))
        try:
            cache.save()
            template_inputs, template_absent = folders.files(), folders.absent()
            assets = [out / "assets" / n for n in ("pygments.css", *ASSETS, *folders.extra_assets())]
            for manifest, deck, outputs, line in deck_stamps:
                cache.write_stamp(manifest, out, options,
                                  deck.dependencies | set(deck.assets.values()) | set(template_inputs),
                                  outputs + assets, line, deck.html_name, deck.assets,
                                  deck.absent_inputs | template_absent)
        except OSError as e:     # the output is written: a cache we cannot keep only costs speed
            result.diagnostics.warning(display_path(cache.folder), None,
                                       f"cannot write the build cache ({e.strerror or e}): going on without it")
    return result


def _write_pages(out: Path, decks: list[Deck], env, caches: Caches, held: int | None = None) -> list[tuple]:
    """Each deck's page assembled and written, with what went wrong (a Diagnostic or
    None) and the seconds it took; half of the work on the other core (forked.py).
    The decks from index `held` on are assembled and their files copied, but their page is
    not written: it comes back instead of the seconds, as (None, (page, seconds))."""
    from . import render
    from .forked import map_halves

    def write(index: int) -> tuple:
        deck = decks[index]
        started = time.perf_counter()
        try:
            page = render.deck_page(deck, env, caches)
            for rel, src in sorted(deck.assets.items()):
                copy_output(out, rel, src)
            for rel, text in deck.stylesheets.items():
                write_output(out, rel, text)
            if held is not None and index >= held:
                return None, (page, time.perf_counter() - started)
            write_output(out, deck.html_name, page)
        except BuildError as e:
            return e.diagnostic, 0.0
        except OSError as e:               # a full disk, a file in the way: name the output file
            return os_error(e, display_path(out)), 0.0
        except Exception as e:
            return _unexpected(deck.manifest, e).diagnostic, 0.0
        return None, time.perf_counter() - started

    return map_halves(write, range(len(decks)), [len(d.slides) for d in decks])


def _write_held_page(out: Path, deck: Deck, held: tuple, changed: list, env, caches: Caches) -> tuple:
    """A page assembled by _write_pages(held=...) before its diagrams were drawn, written with
    them: each slide of `changed` ([(slide, its HTML then)]) gets its HTML of now (SVGs in)."""
    from . import render
    error, page_seconds = held
    if error is not None:
        return held
    page, seconds = page_seconds
    started = time.perf_counter()
    try:
        page = render.with_new_slide_html(page, changed)
        if page is None:                   # not found as assembled: assembled again
            page = render.deck_page(deck, env, caches)
        write_output(out, deck.html_name, page)
    except OSError as e:
        return os_error(e, display_path(out)), 0.0
    except Exception as e:
        return _unexpected(deck.manifest, e).diagnostic, 0.0
    return None, seconds + time.perf_counter() - started


def _write_single_files(out: Path, result: BuildResult, deck_stamps: list) -> None:
    """--single-file: dist/single/<deck>.html, everything inlined (labdeck/offline.py)."""
    from .offline import single_file
    for manifest, deck, outputs, _ in deck_stamps:
        page, missing = single_file((out / deck.html_name).read_text(encoding="utf-8"), out)
        for ref in missing:
            result.diagnostics.warning(display_path(Path(manifest)), None,
                                       f"--single-file: '{ref}' is not in the output folder: left as a link")
        write_output(out, f"single/{deck.html_name}", page)
        outputs.append(out / "single" / deck.html_name)


def _unexpected(manifest: Path, e: Exception) -> BuildError:
    """An error we did not foresee: still one line naming the deck, never a traceback."""
    if isinstance(e, RecursionError):
        return BuildError(display_path(Path(manifest)), None, "input nested too deeply to build")
    return BuildError(display_path(Path(manifest)), None, f"internal error: {type(e).__name__}: {e}")


def _has_diagrams(deck: Deck) -> bool:
    return any('class="mermaid"' in s.html for s in deck.slides)


def _render_diagrams(decks: list[Deck], cache: Cache, diagrams, diags: Diagnostics) -> None:
    """Mermaid blocks → inline SVG (rendered once in Chromium, then cached by content)."""
    slides = [s for d in decks for s in d.slides if 'class="mermaid"' in s.html]
    if slides:
        from .mermaid import apply_mermaid
        apply_mermaid(slides, cache.folder, diags, browser_path=diagrams.browser_path, early=diagrams)


def write_assets(out: Path, folders: Templates) -> None:
    """dist/assets/: the stylesheet and player (the project's own when it overrides
    them), code colours, and the project's extra static files."""
    from . import render
    for name in ASSETS:
        write_output(out, f"assets/{name}", folders.find(name).read_bytes())
    for name, src in folders.extra_assets().items():
        copy_output(out, f"assets/{name}", src)
    write_output(out, "assets/pygments.css", render.pygments_css())


def zip_folder(out: Path) -> bytes:
    """dist/ as one download, for reading offline (what @@ZIP@@ points to)."""
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(out.rglob("*")):
            rel = path.relative_to(out)
            if path.is_file() and rel.parts[0] not in ("check", "labs") and path.name != "slides.zip" \
                    and not path.name.startswith("."):
                z.write(path, str(Path("slides") / rel))
    return buf.getvalue()


def _read_summaries(out: Path, caches: Caches) -> dict:
    """Decks built earlier stay listed in build.json and the index pages.
    Watch mode rebuilds often: the build.json this process wrote last is not read again."""
    path = out / "build.json"
    try:
        st = path.stat()
        known = caches.summaries.get(str(path))
        if known is not None and known[0] == (st.st_mtime_ns, st.st_size):
            decks = dict(known[1])
        else:
            decks = model.load_summaries(out)
        return {k: v for k, v in decks.items() if (out / v.get("html", "")).is_file()}
    except (OSError, ValueError, AttributeError):
        return {}


def _write_summaries(out: Path, summaries: dict, text: str, caches: Caches) -> None:
    path = out / "build.json"
    write_output(out, "build.json", text)
    st = path.stat()
    caches.summaries.remember(str(path), ((st.st_mtime_ns, st.st_size), dict(summaries)))


def _one(e: BuildError) -> Diagnostics:
    d = Diagnostics()
    d.items.append(e.diagnostic)
    return d


def print_diagnostics(result: BuildResult, stream=None) -> None:
    """The build's diagnostics, to the `labdeck` logger (or into `stream`)."""
    result.diagnostics.print(stream, result.roots)
