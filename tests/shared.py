"""Where the tests find the shared corpus: `shared/corpus/` beside the
repository (as CI lays it: `../shared` from the repository root), or beside
the folder above it (a developer's clone in a folder of clones). Never an
absolute path."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _shared() -> Path:
    for base in (ROOT.parent, ROOT.parent.parent):
        if (base / "shared" / "corpus").is_dir():
            return base / "shared"
    return ROOT.parent / "shared"


SHARED = _shared()
CORPUS = SHARED / "corpus" / "container.training" / "slides"
