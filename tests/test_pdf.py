"""`build.py pdf`: one PDF page per slide, printed by real Chromium, read back with pypdf."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from labdeck.pdf import main, steps_to_drop

ROOT = Path(__file__).resolve().parent.parent

CHAPTER = """\
class: title

Printing test

---

## Three steps

- opening point

--

- second point

--

- third point

???

A note only the presenter reads: mention the weather.

---

## Two steps

- alpha

--

- beta

---

## A single slide

- nothing incremental here
"""


@pytest.fixture(scope="module", autouse=True)
def _chromium(chromium):
    """Every test here drives Chromium (conftest's `chromium` skips without one)."""


@pytest.fixture
def deck(tmp_path) -> Path:
    (tmp_path / "src" / "ch").mkdir(parents=True)
    (tmp_path / "src" / "ch" / "print.md").write_text(CHAPTER, encoding="utf-8")
    manifest = tmp_path / "src" / "printing.yml"
    manifest.write_text("title: Printing test\ncontent:\n- ch/print.md\n", encoding="utf-8")
    return manifest


def pages(pdf: Path) -> list[str]:
    return [p.extract_text() for p in PdfReader(str(pdf)).pages]


def test_one_page_per_slide(deck, tmp_path, capsys):
    out = tmp_path / "dist"
    assert main([str(deck), "--out", str(out)]) == 0
    count = json.loads((out / "build.json").read_text())["decks"]["printing"]["slides"]
    text = pages(out / "printing.pdf")
    assert count == 7 and len(text) == 7
    assert "opening point" in text[1] and "second point" not in text[1]
    assert "third point" in text[3]
    page = PdfReader(str(out / "printing.pdf")).pages[0]
    assert round(float(page.mediabox.width) / float(page.mediabox.height), 2) == round(908 / 512, 2)
    assert "printing: 7 pages" in capsys.readouterr().out


def test_no_steps_keeps_the_last_step_of_each_slide(deck, tmp_path):
    out = tmp_path / "dist"
    assert main([str(deck), "--out", str(out), "--no-steps"]) == 0
    slide_list = json.loads((out / "build.json").read_text())["decks"]["printing"]["slide_list"]
    assert steps_to_drop(slide_list) == [2, 3, 5]
    text = pages(out / "printing.pdf")
    assert len(text) == 7 - 3
    assert "opening point" in text[1] and "third point" in text[1]
    assert "alpha" in text[2] and "beta" in text[2]


def test_notes_print_under_their_slide(deck, tmp_path):
    out = tmp_path / "dist"
    assert main([str(deck), "--out", str(out), "--notes", "--no-steps"]) == 0
    text = pages(out / "printing.pdf")
    assert len(text) == 4
    assert "mention the weather" in text[1]
    assert not any("mention the weather" in t for i, t in enumerate(text) if i != 1)
    page = PdfReader(str(out / "printing.pdf")).pages[1]
    assert float(page.mediabox.height) > float(page.mediabox.width)   # room for the notes under the slide


def test_sample_deck_page_count_matches_build_json(tmp_path):
    manifest = ROOT / "slides" / "k8s-services.yml"
    if not manifest.is_file():
        pytest.skip("sample deck slides/k8s-services.yml is absent")
    out = tmp_path / "dist"
    for flags, expected in (([], None), (["--no-steps"], "no-steps")):
        assert main([str(manifest), "--out", str(out), *flags]) == 0
        slide_list = json.loads((out / "build.json").read_text())["decks"]["k8s-services"]["slide_list"]
        want = len(slide_list) - (len(steps_to_drop(slide_list)) if expected else 0)
        assert len(PdfReader(str(out / "k8s-services.pdf")).pages) == want


def test_a_deck_that_does_not_build_is_one_located_error(tmp_path, capsys):
    manifest = tmp_path / "broken.yml"
    manifest.write_text("title: Broken\ncontent:\n- missing.md\n", encoding="utf-8")
    assert main([str(manifest), "--out", str(tmp_path / "dist")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and ": error: " in err
    assert not (tmp_path / "dist" / "broken.pdf").exists()


def test_an_unwritable_out_folder_is_one_error_line(deck, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main([str(deck), "--out", str(blocker / "dist")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(str(blocker)) and ": error: cannot write" in err[0]
