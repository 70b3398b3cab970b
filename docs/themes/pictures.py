"""The README's theme pictures: `python docs/themes/pictures.py` (from the repository root).

Builds the sample deck slides/k8s-services.yml once per theme (in a temporary
copy of slides/ with `theme:` added to the manifest), opens it from file:// in
headless Chromium and saves one slide as docs/themes/<theme>.png, small
enough to commit (800x450).
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from labdeck.browser import launch  # noqa: E402
from labdeck.build import build  # noqa: E402

DECK, SLIDE = "k8s-services", "#first-service"
# picture name, theme in the manifest, the reader's colour scheme
LOOKS = [("default", None, "light"), ("dark", "dark", "light"), ("paper", "paper", "light")]


def main() -> int:
    out_dir = Path(__file__).resolve().parent
    tmp = Path(tempfile.mkdtemp(prefix="labdeck-themes-"))
    try:
        with launch() as browser:
            for name, theme, scheme in LOOKS:
                src = tmp / name / "slides"
                shutil.copytree(ROOT / "slides", src)
                manifest = src / f"{DECK}.yml"
                if theme:
                    manifest.write_text(manifest.read_text() + f"\ntheme: {theme}\n")
                dist = tmp / name / "dist"
                result = build([manifest], dist, quiet=True, cache_dir=tmp / name / "cache")
                if result.failed:
                    print(f"pictures: error: the {name} build failed", file=sys.stderr)
                    return 1
                page = browser.new_page(viewport={"width": 800, "height": 450}, color_scheme=scheme)
                page.goto((dist / f"{DECK}.html").as_uri() + SLIDE)
                page.wait_for_function("window.slideshow && slideshow.getCurrentSlideIndex() >= 0")
                page.evaluate("document.fonts.ready")
                target = out_dir / f"{name}.png"
                page.screenshot(path=str(target))
                page.close()
                print(f"{target.relative_to(ROOT)}: {target.stat().st_size // 1024} KB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
