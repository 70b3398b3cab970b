"""Themes: how a deck looks.

- The default theme (templates/deck.css) follows the reader's
  prefers-color-scheme: light, or dark when the system asks for dark.
- `theme: NAME` in a manifest picks a theme folder: `themes/NAME/` next to the
  manifest (a project's own), else a built-in one (`light`, `dark`).
- A theme folder holds `theme.css` (loaded after deck.css), optionally a
  `deck.html.j2` that extends `labdeck/deck.html.j2`, and any files the CSS
  uses (fonts, pictures): everything but templates is copied to
  `dist/assets/themes/NAME/`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader
from pygments.formatters import HtmlFormatter

from .diagnostics import Diagnostics

DEFAULT = "default"
TEMPLATE = "deck.html.j2"
STYLESHEET = "theme.css"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def builtin_folder() -> Path:
    from .overrides import BUILTIN
    return BUILTIN / "themes"


def builtin_names() -> list[str]:
    return sorted(p.name for p in builtin_folder().iterdir() if (p / STYLESHEET).is_file())


@dataclass(frozen=True)
class Theme:
    name: str = DEFAULT
    folder: Path | None = None          # None: the default theme, nothing added

    def files(self) -> dict[str, Path]:
        """dist-relative path → source file, for every file the theme ships (not its templates)."""
        if self.folder is None:
            return {}
        return {f"assets/themes/{self.name}/{p.relative_to(self.folder).as_posix()}": p
                for p in sorted(self.folder.rglob("*"))
                if p.is_file() and not p.name.endswith(".j2") and not p.name.startswith(".")}

    def stylesheets(self, assets: str = "assets") -> list[str]:
        if self.folder is None or not (self.folder / STYLESHEET).is_file():
            return []
        return [f"{assets}/themes/{self.name}/{STYLESHEET}"]

    def inputs(self) -> set[Path]:
        """Every file that changes the built deck (watch mode and build stamps)."""
        if self.folder is None:
            return set()
        return {p.resolve() for p in self.folder.rglob("*") if p.is_file()}

    def environment(self, env: Environment) -> Environment:
        """The deck template: the theme's own `deck.html.j2` when it has one
        (it can `{% extends "labdeck/deck.html.j2" %}`), else labdeck's."""
        if self.folder is None or not (self.folder / TEMPLATE).is_file():
            return env
        return env.overlay(loader=ChoiceLoader([FileSystemLoader(str(self.folder)),
                                                PrefixLoader({"labdeck": env.loader})]))


def resolve_theme(value, manifest_dir: Path, diags: Diagnostics, rel: str, line: int) -> Theme:
    """The theme a manifest asks for. A theme that cannot be found is a warning
    (the deck is still built, with the default theme), as remark would show it."""
    if value in (None, "", DEFAULT):
        return Theme()
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        diags.warning(rel, line, f"'theme' must be a theme name (letters, digits, '-', '_'), not {value!r}: "
                                 "default theme used")
        return Theme()
    for base in (manifest_dir / "themes", builtin_folder()):
        folder = base / value
        if folder.is_dir() and ((folder / STYLESHEET).is_file() or (folder / TEMPLATE).is_file()):
            return Theme(value, folder)
    diags.warning(rel, line, f"unknown theme '{value}' (no {STYLESHEET} or {TEMPLATE} in themes/{value}/ next to "
                             f"the manifest; built-in themes: {', '.join(builtin_names())}): default theme used")
    return Theme()


def pygments_css(light: str = "default", dark: str = "github-dark") -> str:
    """Code colours for both colour schemes in one stylesheet: each token's
    colour is light-dark(light style, dark style), so code follows the theme."""
    def rules(style: str) -> dict[str, dict[str, str]]:
        out = {}
        for cls, (decl, _ttype, _level) in HtmlFormatter(style=style).class2style.items():
            if cls:
                out[cls] = dict(d.split(": ", 1) for d in decl.split("; ") if ": " in d)
        return out
    lo, hi = rules(light), rules(dark)
    lines = []
    for cls in sorted(set(lo) | set(hi)):
        a, b = lo.get(cls, {}), hi.get(cls, {})
        decls = []
        for prop, fallback in (("color", "currentColor"), ("background-color", "transparent")):
            if prop in a or prop in b:
                decls.append(f"{prop}: light-dark({a.get(prop, fallback)}, {b.get(prop, fallback)})")
        for prop in ("font-weight", "font-style", "text-decoration"):
            if prop in a:
                decls.append(f"{prop}: {a[prop]}")
        if decls:
            lines.append(f".remark-code .{cls} {{ {'; '.join(decls)} }}")
    return "/* Pygments: '%s' in the light scheme, '%s' in the dark one */\n%s\n" % (light, dark, "\n".join(lines))
