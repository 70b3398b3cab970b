"""`labdeck new FOLDER`: a starter project (a manifest, three chapters, a lab).

Like `mkdocs new`: the files come from labdeck/starter/ (package data), the
manifest is named after the folder, and nothing existing is overwritten.
"""
from __future__ import annotations

import re
from pathlib import Path

STARTER = Path(__file__).resolve().parent / "starter"


class FolderNotEmpty(Exception):
    pass


def deck_name(folder: Path) -> str:
    """The manifest's stem: the folder's name, kept to letters, digits, - and _."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(folder).resolve().name).strip("-")
    return name or "deck"


def new_project(folder: Path) -> list[Path]:
    """Write the starter project into `folder` (created, or existing and empty);
    returns the files written. Raises FolderNotEmpty, or OSError."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise FolderNotEmpty(f"{folder}: already exists and is not an empty folder")
    name = deck_name(folder)
    written = []
    for src in sorted(STARTER.rglob("*")):
        if not src.is_file() or "__pycache__" in src.parts:
            continue
        rel = src.relative_to(STARTER).as_posix().replace("DECK", name)
        if rel == "gitignore":          # a dotfile would be left out of the package data
            rel = ".gitignore"
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(src.read_text(encoding="utf-8").replace("DECK", name), encoding="utf-8")
        written.append(target)
    return written
