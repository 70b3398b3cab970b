"""The manifest's `css:` key: the authors' stylesheets after labdeck's theme,
copied into dist/ with what their url()s name, remote @imports left out
(with a warning), so the deck stays offline and looks as its authors styled it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labdeck.build import build
from shared import SHARED

ROOT = Path(__file__).resolve().parent.parent
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")

OWN = """\
@import url(https://fonts.example.net/css?family=Some+Font);
@import "theme/colours.css";
/* @import url(https://commented.example.net/out.css); */

.remark-slide-content h2 { font-size: 31px; }
.remark-slide-content .stamp {
  display: block; width: 40px; height: 40px;
  background-image: url("pictures/stamp.png");
}
.remark-slide-content .far { background-image: url(https://cdn.example.net/far.png); }
"""
COLOURS = ".remark-slide-content h2 { color: rgb(1, 2, 3); }\n"
CHAPTER = "## Styled\n\n.stamp[ ]\n\n.far[far away]\n"


def make(folder: Path, css: str = "- own.css\n") -> Path:
    (folder / "theme").mkdir(parents=True)
    (folder / "pictures").mkdir()
    (folder / "deck.yml").write_text(f"title: Styled\ncss:\n{css}content:\n- a.md\n", encoding="utf-8")
    (folder / "a.md").write_text(CHAPTER, encoding="utf-8")
    (folder / "own.css").write_text(OWN, encoding="utf-8")
    (folder / "theme" / "colours.css").write_text(COLOURS, encoding="utf-8")
    (folder / "pictures" / "stamp.png").write_bytes(PNG)
    return folder / "deck.yml"


def run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, LABDECK_CACHE=str(folder.parent / "cache"))
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)


def test_stylesheets_are_copied_offline_with_located_warnings(tmp_path):
    folder = tmp_path / "src"
    make(folder)
    proc = run(folder, "deck.yml", "--out", str(tmp_path / "dist"))
    assert proc.returncode == 0, proc.stderr
    warnings = [l for l in proc.stderr.splitlines() if ": warning: " in l]
    assert warnings == [
        "own.css:1: warning: remote @import left out (the deck stays offline): "
        "https://fonts.example.net/css?family=Some+Font",
        "own.css:10: warning: remote url() left out (the deck stays offline): https://cdn.example.net/far.png",
    ]
    dist = tmp_path / "dist"
    own = (dist / "own.css").read_text()
    assert "@import url(https://fonts" not in own and "cdn.example.net" not in own
    assert "/* @import url(https://commented.example.net/out.css); */" in own    # comments stay as they were
    assert (dist / "theme" / "colours.css").read_text() == COLOURS
    assert (dist / "pictures" / "stamp.png").read_bytes() == PNG
    html = (dist / "deck.html").read_text()
    theme, authors = html.index("assets/deck.css"), html.index('href="own.css?v=')
    assert theme < authors                    # after labdeck's theme: the authors' rules win

    strict = run(folder, "deck.yml", "--out", str(tmp_path / "dist2"), "--strict")
    assert strict.returncode != 0


def test_the_page_uses_them_and_fetches_nothing_outside_dist(tmp_path, browser, watch):
    folder = tmp_path / "src"
    make(folder)
    assert build([folder / "deck.yml"], tmp_path / "dist", cache_dir=tmp_path / "cache", quiet=True).ok
    context = browser.new_context(viewport={"width": 908, "height": 512})
    seen = watch(context, tmp_path / "dist")
    page = context.new_page()
    page.goto((tmp_path / "dist" / "deck.html").as_uri())
    page.wait_for_function("window.slideshow")
    style = page.evaluate("""() => {
      const h = document.querySelector('.remark-visible h2');
      const stamp = document.querySelector('.remark-visible .stamp');
      return {size: getComputedStyle(h).fontSize, color: getComputedStyle(h).color,
              picture: getComputedStyle(stamp).backgroundImage};
    }""")
    page.wait_for_load_state("load")
    context.close()
    assert style["size"] == "31px"
    assert style["color"] == "rgb(1, 2, 3)"           # from the local @import
    assert style["picture"].endswith('dist/pictures/stamp.png")')
    assert seen.outside == [] and seen.errors == []


def test_a_changed_stylesheet_rebuilds_the_deck_and_changes_its_page(tmp_path):
    folder = tmp_path / "src"
    make(folder)
    dist, cache = tmp_path / "dist", tmp_path / "cache"
    first = build([folder / "deck.yml"], dist, cache_dir=cache, quiet=True)
    deck = first.decks["deck"]
    assert {folder.resolve() / "own.css", folder.resolve() / "theme" / "colours.css"} <= deck.dependencies
    page = (dist / "deck.html").read_text()
    assert build([folder / "deck.yml"], dist, cache_dir=cache, quiet=True).unchanged
    (folder / "theme" / "colours.css").write_text(".remark-slide-content h2 { color: red; }\n")
    again = build([folder / "deck.yml"], dist, cache_dir=cache, quiet=True)
    assert not again.unchanged and again.ok
    assert (dist / "theme" / "colours.css").read_text().endswith("color: red; }\n")
    assert (dist / "deck.html").read_text() != page      # a new version in the link: open pages reload


@pytest.mark.parametrize("css, line, message", [
    ("- missing.css\n", 3, "stylesheet 'missing.css' not found"),
    ("- ../outside.css\n", 3, "outside the source folder"),
    ("  nested: map\n", 2, "'css' must be a list of stylesheet paths"),
])
def test_a_stylesheet_that_cannot_be_had_is_a_located_error(tmp_path, css, line, message):
    folder = tmp_path / "src"
    make(folder, css)
    (tmp_path / "outside.css").write_text("h2 { color: red; }\n")
    proc = run(folder, "deck.yml", "--out", str(tmp_path / "dist"))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    errors = [l for l in proc.stderr.splitlines() if ": error: " in l]
    assert len(errors) == 1 and errors[0].startswith(f"deck.yml:{line}: error: ") and message in errors[0], errors


CORPUS = SHARED / "corpus" / "container.training"


def test_container_training_decks_get_their_usual_look_offline(tmp_path, browser, watch):
    """workshop.css next to the manifests, as in container.training's repository."""
    if not (CORPUS / "reference" / "workshop.css").is_file():
        pytest.skip("the corpus and its reference/workshop.css are not in ../shared/corpus")
    src = tmp_path / "slides"
    shutil.copytree(CORPUS / "slides", src)
    shutil.copytree(CORPUS / "k8s", tmp_path / "k8s")
    shutil.copy(CORPUS / "reference" / "workshop.css", src / "workshop.css")
    manifest = src / "kube-halfday.yml"
    manifest.write_text(manifest.read_text() + "\ncss:\n- workshop.css\n")
    result = build([manifest], tmp_path / "dist", cache_dir=tmp_path / "cache", quiet=True)
    assert result.ok
    imports = [d for d in result.diagnostics.warnings if "remote @import" in d.message]
    assert imports and all(d.path == "workshop.css" for d in imports)
    context = browser.new_context(viewport={"width": 908, "height": 512})
    seen = watch(context, tmp_path / "dist")
    page = context.new_page()
    page.goto((tmp_path / "dist" / "kube-halfday.html").as_uri())
    page.wait_for_function("window.slideshow")
    size = page.evaluate("getComputedStyle(document.querySelector('.remark-visible .remark-slide-content')).fontSize")
    page.wait_for_load_state("load")
    context.close()
    assert size == "25px"                      # workshop.css's own rule, over labdeck's theme
    assert not [u for u in seen.outside if "fonts.googleapis.com" in u]


def test_watch_mode_rebuilds_and_reloads_the_deck_when_a_stylesheet_changes(tmp_path):
    import io
    import threading
    from labdeck.serve.watch import Watcher
    folder = tmp_path / "src"
    make(folder)
    watcher = Watcher([folder / "deck.yml"], tmp_path / "dist", stream=io.StringIO())
    watcher.start()
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()

    def wait_build(count: int) -> dict:
        with watcher.rebuilt:
            assert watcher.rebuilt.wait_for(lambda: watcher.builds >= count, 30)
            return dict(watcher.last)

    try:
        assert wait_build(1)["ok"]
        (folder / "theme" / "colours.css").write_text(".remark-slide-content h2 { color: red; }\n")
        last = wait_build(2)
        assert last["ok"] and "deck.html" in last["reload"]
        assert (tmp_path / "dist" / "theme" / "colours.css").read_text().endswith("color: red; }\n")
    finally:
        watcher.stop()
        thread.join(30)
