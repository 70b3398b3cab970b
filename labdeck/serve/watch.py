"""`build.py --watch [--serve]`: rebuild the decks a changed file belongs to.

After each build every deck's `dependencies` (manifest, chapters, includes,
interstitials.txt) and `assets` (images) go into a file → decks graph; a
change rebuilds only the decks that read that file (every deck for a
template). Editor bursts (temporary files, rename-on-save, several saves)
are coalesced into one rebuild. With --serve, pages whose output changed are
told to reload and failed decks show their errors in the page.
"""
from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
from pathlib import Path

from ..build import BuildResult, build, load_deck, print_diagnostics
from ..diagnostics import BuildError, Diagnostic, os_error
from ..memo import Caches
from ..overrides import project_templates

DEBOUNCE = 0.05          # quiet time that ends a burst of editor events
MAX_WAIT = 0.5           # a burst never delays a rebuild longer than this
SKIP_OUT = ("labs", "check")  # output folders other commands own


def _real(path) -> Path:
    return Path(os.path.realpath(path))


def _is_scratch(name: str) -> bool:
    """Editor and tool scratch files: never a reason to rebuild on their own."""
    return (name.startswith((".", "#")) or name.endswith(("~", ".swp", ".swx", ".tmp", ".part"))
            or name == "4913")


def snapshot(out: Path) -> dict[str, tuple[int, int, int]]:
    """Output files → (mtime, size, inode). write_atomic replaces a file only
    when its bytes change, so a differing entry means changed output."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(out):
        rel_dir = os.path.relpath(dirpath, out)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in SKIP_OUT and not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                continue
            full = os.path.join(dirpath, name)
            try:
                st = os.stat(full)
            except OSError:
                continue
            rel = name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/")
            snap[rel] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return snap


class Watcher:
    """The watch loop. `start()` builds everything and starts watching;
    `run()` rebuilds until `stop()` (thread-safe) is called."""

    def __init__(self, manifests: list[Path], out: Path, source: Path | None = None,
                 exclude: list[str] | None = None, strict: bool = False, make_zip: bool = False,
                 server=None, debounce: float = DEBOUNCE, stream=None, templates: Path | None = None,
                 fetch_remote: bool = False, single_file: bool = False):
        self.manifests = [Path(m) for m in manifests]
        self.fetch_remote = fetch_remote         # as `build`: remote pictures fetched once, shipped in dist/
        self.single_file = single_file           # as `build`: dist/single/<deck>.html kept up to date too
        self.templates = templates               # the project's template folder (None: ./templates)
        self.out = Path(out)
        self.source = source
        self.exclude = exclude or []
        self.strict = strict
        self.make_zip = make_zip
        self.server = server
        self.debounce = debounce
        self.stream = stream or sys.stderr
        self.events: queue.Queue[tuple[str, bool]] = queue.Queue()
        self.stopping = threading.Event()
        self.rebuilt = threading.Condition()     # notified after every build (tests, measure_edit)
        self.builds = 0
        self.last: dict = {}                     # the last build: manifests, ok, changed, reload, times
        self.deps: dict[Path, set[Path]] = {}    # manifest → files it read (images included)
        self.pages: dict[Path, tuple[str, set[str]]] = {}   # manifest → (page, dist-relative assets)
        self.failed: set[Path] = set()
        self.errors: dict[str, list[str]] = {}   # page → error lines while its deck fails
        self.error_dirs: set[Path] = set()       # folders named by errors (e.g. a missing chapter's)
        self._observer = None
        self._watched: dict[str, object] = {}
        self._out_real = _real(self.out)
        self._known_yaml: set[Path] = set()
        self.force_next = False                  # the next rebuild must not trust the stamps
        self.caches = Caches()                   # the session's memo tables: every rebuild reuses them

    # ---- building ----
    def build(self, manifests: list[Path], force: bool = False) -> BuildResult:
        before = snapshot(self.out)
        started = time.perf_counter()
        try:
            result = build(manifests, self.out, self.source, self.exclude, self.strict, self.make_zip, force=force,
                           templates=self.templates, caches=self.caches,
                           fetch_remote=self.fetch_remote, single_file=self.single_file)
        except Exception as e:      # whatever happens, the session goes on with the last good output
            result = failed_build(manifests, self.out, e)
        elapsed = time.perf_counter() - started
        print_diagnostics(result, self.stream)
        changed = self._changed(before, snapshot(self.out))
        self._record(manifests, result)
        reload = self._pages_to_reload(changed)
        if result.failed:
            print(f"build failed: {', '.join(str(m) for m in result.failed)} "
                  f"(the last good output stays)", file=self.stream, flush=True)
        if self.server is not None:
            self.server.broker.publish(sorted(reload), sorted(changed), self.errors)
        with self.rebuilt:
            self.builds += 1
            self.last = {"manifests": list(manifests), "ok": result.ok, "changed": changed,
                         "reload": reload, "seconds": elapsed, "finished": time.time()}
            self.rebuilt.notify_all()
        return result

    @staticmethod
    def _changed(before: dict, after: dict) -> set[str]:
        return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}

    def _record(self, manifests: list[Path], result: BuildResult) -> None:
        lines = [str(d) for d in result.diagnostics.items
                 if d.severity == "error" or (self.strict and d.severity == "warning")]
        built = {_real(d.manifest): d for d in result.decks.values()}
        unchanged = {_real(m) for m in getattr(result, "unchanged", [])}
        for m in manifests:
            key = _real(m)
            deck = built.get(key)
            if deck is None and key in unchanged:
                # skipped as up to date: its files still have to be watched (the stamp lists them)
                stamp = result.stamps.get(m) or {}
                if stamp.get("inputs"):
                    self.deps[key] = {_real(p) for p in stamp["inputs"]}
                    self.pages[key] = (stamp["html"], set(stamp["assets"]))
                elif key not in self.deps:
                    self._learn(m)
                self.failed.discard(key)
                self.errors.pop(self.pages.get(key, (f"{key.stem}.html",))[0], None)
            elif deck is not None:
                self.deps[key] = set(deck.dependencies) | {_real(p) for p in deck.assets.values()}
                self.pages[key] = (deck.html_name, set(deck.assets))
                self.failed.discard(key)
                self.errors.pop(deck.html_name, None)
            else:
                self.failed.add(key)
                page = self.pages.get(key, (f"{key.stem}.html", set()))[0]
                self.errors[page] = lines or [f"{m}: error: build failed"]
        self.error_dirs = set()
        if self.failed:
            for d in result.diagnostics.errors:
                self.error_dirs.update(self._folders_named_by(d))
        self._reschedule()

    def _learn(self, manifest: Path) -> None:
        """Dependencies of a deck the build skipped (up to date): parse it, write nothing."""
        try:
            from ..cache import Cache
            deck, _ = load_deck(manifest, self.source, self.exclude, store=Cache().store, caches=self.caches)
        except Exception:            # the next build reports it
            return
        key = _real(manifest)
        self.deps[key] = set(deck.dependencies) | {_real(p) for p in deck.assets.values()}
        self.pages[key] = (deck.html_name, set(deck.assets))

    def _folders_named_by(self, d: Diagnostic) -> set[Path]:
        """Existing folders an error's path points into: a chapter that is missing
        now is noticed when it appears."""
        found = set()
        bases = [Path.cwd()] + ([Path(self.source)] if self.source else []) \
            + [m.parent for m in self.manifests]
        for base in bases:
            parent = (base / d.path).parent
            if parent.is_dir():
                found.add(_real(parent))
        return found

    def _pages_to_reload(self, changed: set[str]) -> set[str]:
        shared = any(c.startswith("assets/") for c in changed)
        pages = {c for c in changed if c.endswith(".html")}
        for page, assets in self.pages.values():
            if shared or assets & changed:
                pages.add(page)
        if shared or "build.json" in changed:
            pages.update(c for c in snapshot_pages(self.out) if c.endswith("index.html"))
        return pages

    # ---- deciding what to rebuild ----
    def affected(self, paths: list[tuple[str, bool]]) -> list[Path]:
        """Manifests to rebuild for these changed paths (path, is_directory)."""
        todo: set[Path] = set()
        templates = {_real(f) for f in project_templates(self.templates).folders}
        relevant = False
        for raw, is_dir in paths:
            p = _real(raw)
            if p == self._out_real or self._out_real in p.parents:
                continue
            if _is_scratch(p.name):
                continue
            relevant = True
            if p in templates or templates & set(p.parents):
                todo.update(_real(m) for m in self.manifests)
                continue
            for m, files in self.deps.items():
                if p in files or (is_dir and any(p in f.parents for f in files)):
                    todo.add(m)
                elif p.name == "interstitials.txt" and p.parent == m.parent:
                    # read when present next to the manifest: a new one is no dependency
                    # yet, and the deck's stamp does not know it either
                    todo.add(m)
                    self.force_next = True
            if p.suffix in (".yml", ".yaml") and p.is_file() and p not in self._known_yaml:
                # a new manifest in a watched manifest folder
                if p.parent in {_real(m).parent for m in self.manifests}:
                    self._known_yaml.add(p)
                    self.manifests.append(p)
                    todo.add(p)
        if relevant:
            todo.update(self.failed)          # a fix may be anywhere (a new file, a renamed one)
        by_real = {_real(m): m for m in self.manifests}
        return [by_real.get(m, m) for m in sorted(todo)]

    # ---- file watching ----
    def _folders(self) -> set[Path]:
        folders = {_real(f) for f in project_templates(self.templates).folders} | {_real(m).parent for m in self.manifests}
        for files in self.deps.values():
            folders.update(f.parent for f in files)
        folders.update(self.error_dirs)
        if self.source:
            folders.add(_real(self.source))
        return {f for f in folders if f.is_dir()}

    def _reschedule(self) -> None:
        if self._observer is None:
            return
        from watchdog.events import FileSystemEventHandler

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event):
                if event.event_type in ("opened", "closed_no_write"):
                    return
                # a folder's own "modified"/"created" says nothing its files' events do not
                if event.is_directory and event.event_type not in ("deleted", "moved"):
                    return
                watcher.events.put((event.src_path, event.is_directory))
                dest = getattr(event, "dest_path", "")
                if dest:
                    watcher.events.put((dest, event.is_directory))

        for folder in sorted(self._folders()):
            key = str(folder)
            if key not in self._watched:
                try:
                    self._watched[key] = self._observer.schedule(Handler(), key, recursive=False)
                except OSError as e:
                    print(f"{folder}: warning: cannot watch: {e}", file=self.stream)

    def start(self) -> BuildResult:
        from watchdog.observers import Observer
        for m in self.manifests:
            folder = _real(m).parent
            self._known_yaml.update(_real(p) for p in folder.glob("*.y*ml"))
        # Build first, watch after: the build may fork render workers, which is
        # only safe while this process runs a single thread. The first build is
        # a full one (nothing is rewritten that did not change): it fills the
        # in-process memos, so the first edit is as quick as the next ones.
        result = self.build(self.manifests, force=True)
        self._observer = Observer()
        self._observer.daemon = True
        self._observer.start()
        self._reschedule()
        return result

    def _collect(self) -> list[tuple[str, bool]] | None:
        """One burst of events: waits for the first, then until `debounce` of quiet."""
        try:
            first = self.events.get(timeout=0.2)
        except queue.Empty:
            return None
        batch = [first]
        deadline = time.monotonic() + MAX_WAIT
        while not self.stopping.is_set():
            wait = min(self.debounce, deadline - time.monotonic())
            if wait <= 0:
                break
            try:
                batch.append(self.events.get(timeout=wait))
            except queue.Empty:
                break
        return batch

    def run(self) -> None:
        while not self.stopping.is_set():
            batch = self._collect()
            if not batch or self.stopping.is_set():
                continue
            try:
                todo = self.affected(batch)
                if todo:
                    force, self.force_next = self.force_next, False
                    self.build(todo, force=force)
            except Exception as e:       # never a dead session: say it in one line, keep watching
                print(f"{self.out}: error: rebuild failed: {type(e).__name__}: {e}", file=self.stream, flush=True)

    def stop(self) -> None:
        self.stopping.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5)
            self._observer = None


def failed_build(manifests: list[Path], out: Path, e: Exception) -> BuildResult:
    """A build that raised: every deck failed, with one `error:` line saying why."""
    result = BuildResult(failed=list(manifests))
    if isinstance(e, BuildError):
        result.diagnostics.items.append(e.diagnostic)
    elif isinstance(e, OSError):
        result.diagnostics.add(os_error(e, out))
    else:
        result.diagnostics.error(str(out), None, f"build failed: {type(e).__name__}: {e}")
    return result


def snapshot_pages(out: Path) -> list[str]:
    found = []
    for p in list(out.glob("*.html")) + list(out.glob("*/index.html")):
        found.append(p.relative_to(out).as_posix())
    return found


def watch(manifests: list[Path], args) -> int:
    """Entry point of `build.py --watch/--serve`: runs until Ctrl-C or SIGTERM."""
    server = None
    if args.serve:
        from .server import DevServer
        try:
            server = DevServer(args.out, args.host, args.port)
        except (OSError, OverflowError) as e:     # OverflowError: a port over 65535
            print(f"build.py: error: cannot serve on {args.host}:{args.port}: {getattr(e, 'strerror', None) or e}",
                  file=sys.stderr)
            return 2
    watcher = Watcher(manifests, args.out, args.source, args.exclude, args.strict,
                      getattr(args, "zip", False), server=server, templates=getattr(args, "templates", None),
                      fetch_remote=getattr(args, "fetch_remote", False), single_file=getattr(args, "single_file", False))

    def terminate(signum, frame):
        watcher.stopping.set()
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        watcher.start()
        if server is not None:
            server.start()
            print(f"serving {args.out} at {server.url}  (live reload)", flush=True)
        print(f"watching {len(watcher._watched)} folder(s); Ctrl-C to stop", flush=True)
        watcher.run()
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
        if server is not None:
            server.stop()
        signal.signal(signal.SIGTERM, previous)
    print("stopped", flush=True)
    return 0
