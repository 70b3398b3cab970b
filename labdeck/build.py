"""The build, one function per stage: manifest → chapters → slides → render → write."""
from __future__ import annotations

from pathlib import Path

from .diagnostics import Diagnostics
from .manifest import load_manifest
from .model import Deck
from .slides import build_slides, deck_pieces
from .source import Interstitials, Sources, load_chapters


def load_deck(manifest: Path, source_root: Path | None = None, exclude: list[str] | None = None,
              sources: Sources | None = None, render: bool = True) -> tuple[Deck, Diagnostics]:
    """Parse (and render) one deck. Raises BuildError on fatal input errors."""
    diags = Diagnostics()
    sources = sources or Sources()
    m = load_manifest(Path(manifest), diags, exclude)
    root = Path(source_root) if source_root else m.path.parent
    chapters = load_chapters(m, root, sources, diags)
    pieces, models, parts = deck_pieces(chapters, Interstitials(m.path.parent, sources), diags)
    slides, shown = build_slides(pieces, m.exclude, diags)
    deck = Deck(manifest=m.path, stem=m.stem, title=m.title, values=m.values,
                chapters=models, parts=parts, slides=slides, exclude=m.exclude)
    return deck, diags
