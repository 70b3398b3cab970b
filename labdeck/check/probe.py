"""The JavaScript `check` runs inside a deck page (probe.js, next to this file).

Per-slide checks run in one `page.evaluate` per batch of slides: the page walks
the slides itself and returns findings, so Python pays one round trip per
batch instead of several per slide (2,653 slides must check in seconds).
"""
from pathlib import Path

# Installed once per page, before any batch: window.__labdeckCheck.
SETUP_JS = (Path(__file__).parent / "probe.js").read_text(encoding="utf-8").split("\n", 1)[1]
