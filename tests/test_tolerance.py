"""Author mistakes remark shows: a located warning, the slide as remark shows it,
an error only under --strict (and, for a lab block no script can be made of,
in the labs commands).

The "as remark shows it" half runs container.training's remark fork
(../shared/corpus/container.training/reference/remark.min.js, read where it
lies) in Chromium on the same Markdown, and compares each slide's blocks
(tag and visible text) with ours.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labdeck.build import load_deck

from shared import SHARED

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build.py"
REFERENCE = next((p for p in [SHARED / "corpus/container.training/reference/remark.min.js"] if p.is_file()), None)

# (chapter text, line of the warning, what the warning says)
CASES = {
    "four backticks closed by three": (
        "## Opening\n\n````bash\necho hello\n```\n\nThe words after the code.\n\n---\n\n## Second\n\nmore\n",
        3, r"code fence ```` closed by ``` on line 5: remark ends the code block there"),
    "fence never closed at the end of a slide": (
        "## Opening\n\nSome words.\n\n```bash\necho never closed\n\n---\n\n## Second\n\nmore\n",
        5, r"unclosed code fence ``` opened here: remark shows its lines as text"),
    "class macro never closed": (
        "## Opening\n\n.warning[\nnever closed\n\n---\n\n## Second\n",
        3, r"unclosed \.warning\[ opened here: remark shows it as text"),
    "lab block never closed": (
        "## Opening\n\n.lab[\n\n- do it:\n  ```bash\n  true\n  ```\n",
        3, r"unclosed \.lab\[ opened here"),
    "fence never closed inside a lab block": (
        "## Opening\n\n.lab[\n\n```bash\nkubectl get pods\n]\n\n---\n\n## Second\n",
        5, r"unclosed code fence ``` opened here"),
}


def write_deck(folder: Path, chapter: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deck.yml").write_text("title: Forgiving deck\ncontent:\n- a.md\n", encoding="utf-8")
    (folder / "a.md").write_text(chapter, encoding="utf-8")
    return folder / "deck.yml"


def build(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, LABDECK_CACHE=str(folder.parent / "cache"))
    return subprocess.run([sys.executable, str(BUILD), "deck.yml", "--out", str(folder.parent / "dist"), *extra],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_mistake_remark_shows_is_a_located_warning(tmp_path, case):
    chapter, line, message = CASES[case]
    folder = tmp_path / "slides"
    write_deck(folder, chapter)
    proc = build(folder)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    warnings = [l for l in proc.stderr.splitlines() if ": warning: " in l]
    assert len(warnings) == 1, proc.stderr
    m = re.match(r"^a\.md:(\d+): warning: (.*)$", warnings[0])
    assert m and int(m.group(1)) == line, warnings[0]
    assert re.search(message, m.group(2)), warnings[0]
    assert (tmp_path / "dist" / "deck.html").is_file()

    strict = build(folder, "--strict")
    assert strict.returncode != 0
    assert "Traceback" not in strict.stderr
    assert warnings[0] in strict.stderr.splitlines()


def test_a_fence_left_open_in_a_lab_block_stops_the_labs_commands(tmp_path):
    chapter = CASES["fence never closed inside a lab block"][0]
    folder = tmp_path / "slides"
    write_deck(folder, chapter)
    assert build(folder).returncode == 0
    proc = subprocess.run([sys.executable, str(BUILD), "labs", "deck.yml", "--out", str(tmp_path / "labs")],
                          cwd=folder, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    errors = [l for l in proc.stderr.splitlines() if ": error: " in l]
    assert errors == ["a.md:5: error: unclosed code fence ```bash in lab block"], proc.stderr
    assert not (tmp_path / "labs" / "deck").exists()


# ---- the same slides as remark ----------------------------------------------------

BLOCKS = """(html) => {
  const box = document.createElement('div');
  box.innerHTML = html;
  box.querySelectorAll('.remark-slide-number').forEach(e => e.remove());
  const text = e => e.textContent.replace(/\\s+/g, ' ').trim();
  return Array.from(box.children).map(e => [e.tagName.toLowerCase(), text(e)]);
}"""

REMARK_SLIDES = """(src) => {
  document.body.innerHTML = '';
  const show = remark.create({source: src, highlightSpans: true});
  const n = show.getSlideCount();
  return Array.from(document.querySelectorAll('.remark-slide-container')).slice(0, n)
    .map(c => c.querySelector('.remark-slide-content').innerHTML);
}"""


@pytest.fixture(scope="module")
def remark_page(browser):
    if REFERENCE is None:
        pytest.skip("container.training's remark.min.js is not in ../shared/corpus/container.training/reference")
    page = browser.new_page()
    page.goto("about:blank")
    page.add_script_tag(path=str(REFERENCE))
    yield page
    page.close()


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_slides_are_shown_as_remark_shows_them(tmp_path, remark_page, case):
    chapter = CASES[case][0]
    deck, _ = load_deck(write_deck(tmp_path, chapter))
    theirs = [remark_page.evaluate(BLOCKS, h) for h in remark_page.evaluate(REMARK_SLIDES, chapter)]
    ours = [remark_page.evaluate(BLOCKS, s.html) for s in deck.slides]
    assert ours == theirs
