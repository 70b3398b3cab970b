"""The authors' own stylesheets (manifest key `css:`), made offline.

Each stylesheet (a path relative to the source root, like a chapter) goes to
dist/ under that same path, after labdeck's theme in the page. On the way:
- a remote `@import` (web fonts...) is left out, with a warning: a deck opened
  from file:// makes no request outside dist/;
- a local `@import` brings that stylesheet along, processed the same way;
- a local `url(...)` (a background picture...) is copied next to it, under
  its source-relative path, so the relative URL still holds; a remote one
  becomes an empty image, with a warning.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import BuildError, Diagnostics

_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)
# comments are skipped (an @import commented out is no @import); strings are not parsed further
_TOKENS = re.compile(
    r"(?P<comment>/\*.*?\*/)"
    r"|(?P<import>@import\s+(?:url\(\s*(?P<q1>['\"]?)(?P<u1>.*?)(?P=q1)\s*\)|(?P<q2>['\"])(?P<u2>.*?)(?P=q2))[^;]*;)"
    r"|(?P<url>url\(\s*(?P<q3>['\"]?)(?P<u3>.*?)(?P=q3)\s*\))",
    re.S | re.I)


@dataclass
class Stylesheets:
    """What a deck's own stylesheets add to the build."""
    links: list[str] = field(default_factory=list)            # dist paths, in page order, with a version
    files: dict[str, str] = field(default_factory=dict)       # dist path -> processed CSS
    assets: dict[str, Path] = field(default_factory=dict)     # dist path -> file its url()s name
    dependencies: set[Path] = field(default_factory=set)      # the stylesheets read


def load_stylesheets(entries: list[tuple[str, int]], root: Path, manifest_rel: str,
                     diags: Diagnostics) -> Stylesheets:
    """`entries`: (path, manifest line) of the `css:` list."""
    found = Stylesheets()
    resolved_root = root.resolve()
    for rel, line in entries:
        path = (root / rel).resolve()
        if not path.is_relative_to(resolved_root):
            raise BuildError(manifest_rel, line, f"stylesheet '{rel}' is outside the source folder {root}")
        if not path.is_file():
            raise BuildError(manifest_rel, line, f"stylesheet '{rel}' not found")
        dist = path.relative_to(resolved_root).as_posix()
        _process(path, dist, resolved_root, found, diags)
        found.links.append(dist)
    # a version in the links changes the page when any stylesheet (imported ones too)
    # changes: watch mode reloads it, browsers do not keep the old one
    h = hashlib.blake2b(digest_size=6)
    for dist in sorted(found.files):
        h.update(f"{dist}\0{found.files[dist]}\0".encode())
    found.links = [f"{link}?v={h.hexdigest()}" for link in found.links]
    return found


def _process(path: Path, dist: str, root: Path, found: Stylesheets, diags: Diagnostics) -> None:
    if dist in found.files:
        return
    found.files[dist] = ""              # a stylesheet importing itself stops here
    found.dependencies.add(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BuildError(dist, None, f"cannot read stylesheet: {getattr(e, 'strerror', None) or e}") from None

    def line_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    def local(ref: str, offset: int) -> tuple[Path, str] | None:
        """The file a relative URL names, and its dist path; None (with a warning) if unusable."""
        clean = ref.split("#")[0].split("?")[0]
        target = (path.parent / clean).resolve()
        if not target.is_relative_to(root):
            diags.warning(dist, line_of(offset), f"'{ref}' is outside the source folder: left out")
            return None
        if not target.is_file():
            diags.warning(dist, line_of(offset), f"'{ref}' not found")
            return None
        return target, target.relative_to(root).as_posix()

    def replace(m: re.Match) -> str:
        if m.group("comment"):
            return m.group(0)
        if m.group("import"):
            ref = m.group("u1") if m.group("u1") is not None else m.group("u2")
            if _REMOTE.match(ref):
                diags.warning(dist, line_of(m.start()), f"remote @import left out (the deck stays offline): {ref}")
                return f"/* labdeck: @import of {ref.replace('*/', '')} left out (offline deck) */"
            hit = local(ref, m.start())
            if hit is None:
                return ""
            _process(hit[0], hit[1], root, found, diags)
            return m.group(0)
        ref = m.group("u3")
        if not ref or ref.startswith(("data:", "#")):
            return m.group(0)
        if _REMOTE.match(ref):
            diags.warning(dist, line_of(m.start()), f"remote url() left out (the deck stays offline): {ref}")
            return 'url("data:,")'
        hit = local(ref, m.start())
        if hit is not None:
            found.assets[hit[1]] = hit[0]
        return m.group(0)

    found.files[dist] = _TOKENS.sub(replace, text)
