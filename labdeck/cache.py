"""What a build may skip: decks whose inputs did not change, Markdown already rendered.

- A stamp per deck (manifest + output folder + options) records the size and
  mtime of every file the deck was built from and of what it wrote. When all
  match, the deck is not even parsed: that is the warm build.
- The render store maps a hash of (Markdown, deck links) to HTML, shared by all
  decks, kept in one pickle: a deck that changed re-renders only new text.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .write import write_atomic

PACKAGE = Path(__file__).resolve().parent
FORMAT = 1


def default_folder() -> Path:
    return Path(os.environ.get("LABDECK_CACHE", ".labdeck-cache"))


def code_files() -> list[Path]:
    """labdeck's own code and templates: changing them invalidates every stamp."""
    from .overrides import BUILTIN
    files = set()
    for folder, dirs, names in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if d not in ("node_modules", "__pycache__")]   # npm's, not ours
        files.update(Path(folder, n) for n in names if n.endswith((".py", ".js")))
    return sorted(files | {p for p in BUILTIN.glob("*") if p.is_file()})


def _stat(path) -> list[int] | None:
    try:
        st = os.stat(path)          # a str is fine: no Path objects on the warm path
        return [st.st_mtime_ns, st.st_size]
    except OSError:
        return None


def stats(paths) -> dict[str, list[int] | None]:
    return {str(p): _stat(p) for p in paths}


class Cache:
    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder else default_folder()
        self._store: dict[bytes, str] | None = None
        self._loaded = 0

    # -- stamps ------------------------------------------------------------
    def _stamp_path(self, manifest: Path, out: Path, options: dict) -> Path:
        key = json.dumps([str(Path(manifest).resolve()), str(Path(out).resolve()), options, FORMAT])
        return self.folder / "stamps" / (hashlib.sha1(key.encode()).hexdigest() + ".json")

    def fresh_stamp(self, manifest: Path, out: Path, options: dict) -> dict | None:
        """The stamp of a deck whose inputs and outputs are all as they were, else None."""
        try:
            stamp = json.loads(self._stamp_path(manifest, out, options).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        for path, was in stamp["files"].items():
            if _stat(path) != was:
                return None
        if any(os.path.exists(p) for p in stamp.get("absent", ())):
            return None                 # e.g. an interstitials.txt that appeared
        if not (Path(out) / "build.json").is_file():     # the deck is listed there
            return None
        return stamp

    def write_stamp(self, manifest: Path, out: Path, options: dict, inputs, outputs, line: str,
                    html: str = "", assets=(), absent=()) -> None:
        """`inputs`: files the deck was made from (kept in the stamp: watch mode
        watches them for a deck it did not have to rebuild)."""
        inputs = sorted(str(p) for p in inputs)
        files = stats(inputs + [str(p) for p in outputs] + [str(p) for p in code_files()])
        if any(v is None for v in files.values()):
            return          # something vanished while building: no stamp, rebuild next time
        data = {"files": files, "line": line, "inputs": inputs, "html": html, "assets": sorted(assets),
                "absent": sorted(str(p) for p in absent)}
        write_atomic(self._stamp_path(manifest, out, options), json.dumps(data))

    # -- rendered Markdown ---------------------------------------------------
    def _store_path(self) -> Path:
        # Keys hash the Markdown only: HTML rendered by another renderer
        # (markdown.py, markdown-it-py, Pygments) lives in another file.
        return self.folder / f"rendered-{renderer_signature()}.pickle"

    @property
    def store(self) -> dict[bytes, str]:
        if self._store is None:
            import pickle
            try:
                with open(self._store_path(), "rb") as f:
                    self._store = pickle.load(f)
            except (OSError, pickle.PickleError, EOFError, ValueError):
                self._store = {}
            self._loaded = len(self._store)
        return self._store

    def save(self) -> None:
        if self._store is not None and len(self._store) != self._loaded:
            import pickle
            path = self._store_path()
            write_atomic(path, pickle.dumps(self._store, protocol=pickle.HIGHEST_PROTOCOL))
            self._loaded = len(self._store)
            for old in self.folder.glob("rendered*.pickle"):     # made by an older renderer: never read again
                if old != path:
                    old.unlink(missing_ok=True)


def renderer_signature() -> str:
    """What rendered HTML depends on besides the Markdown: our renderer and its libraries."""
    import markdown_it
    import pygments
    h = hashlib.blake2b(digest_size=8)
    for module in ("markdown.py", "marked.py"):
        h.update((PACKAGE / module).read_bytes())
    h.update(f"{markdown_it.__version__} {pygments.__version__}".encode())
    return h.hexdigest()
