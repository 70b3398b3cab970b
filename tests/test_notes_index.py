"""Topics out of the notes, index pages in their language, title slides that link only to what exists.

Built by the real builder from chapters written here; the presenter view is read in Chromium."""
from __future__ import annotations

import re

import pytest

from labdeck.labels import LABELS
from test_syntax import make

CHAPTER = """\
# Opening words

---

## Greeting

Hello.

???

Say hello to the room.

:EN:- Saying hello
:FR:- Dire bonjour
"""


def notes_of(page: str, heading: str) -> str:
    body = page[page.index(heading):]
    return re.search(r'<template class="remark-slide-notes">(.*?)</template>', body, re.S).group(1)


def test_topic_lines_leave_the_notes_and_come_back_as_a_list(tmp_path):
    b = make(tmp_path, {"a.md": CHAPTER}, "title: Notes\ncontent:\n- a.md\n")
    assert b.ok, b.messages
    notes = notes_of(b.page, "<h2>Greeting</h2>")
    assert "Say hello to the room." in notes
    assert ":EN:" not in notes and ":FR:" not in notes and "Dire bonjour" not in notes
    assert re.search(r'<div class="labdeck-topics">.*Topics.*<li>Saying hello</li>', notes, re.S)
    # the model's notes lost them too; the index still lists them
    assert ":EN:" not in b.result.decks["deck"].slides[-1].notes
    assert "Saying hello" in (b.out / "index.html").read_text(encoding="utf-8")


def test_a_french_deck_shows_its_french_topics(tmp_path):
    b = make(tmp_path, {"a.md": CHAPTER}, "title: Notes\nlang: fr\ncontent:\n- a.md\n")
    assert b.ok and not b.messages, b.messages
    notes = notes_of(b.page, "<h2>Greeting</h2>")
    assert "Sujets" in notes and "<li>Dire bonjour</li>" in notes and "Saying hello" not in notes
    assert '<html lang="fr">' in b.page


def test_presenter_view_shows_notes_without_topic_lines(tmp_path, browser):
    b = make(tmp_path, {"a.md": CHAPTER}, "title: Notes\ncontent:\n- a.md\n")
    page = browser.new_page()
    try:
        page.goto(b.out.joinpath("deck.html").as_uri() + "#3")
        page.wait_for_function("window.slideshow")
        page.keyboard.press("p")
        text = page.locator(".labdeck-notes").inner_text()
        assert "Say hello to the room." in text and "Saying hello" in text
        assert ":EN:" not in text and "Dire bonjour" not in text
    finally:
        page.close()


def test_index_pages_speak_their_language(tmp_path):
    b = make(tmp_path, {"a.md": CHAPTER, "b.md": "# Second\n\n---\n\n## More\n"},
             "title: Langs\ncontent:\n- a.md\n- b.md\n")
    assert b.ok, b.messages
    count = b.data["slides"]
    fr = (b.out / "fr" / "index.html").read_text(encoding="utf-8")
    en = (b.out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in fr and "<h1>Supports</h1>" in fr
    assert f"{count} diapositives" in fr and "<h3>Partie 1</h3>" in fr and "<h3>Partie 2</h3>" in fr
    assert "non traduit" in fr                    # b.md has no :FR: line
    assert 'aria-label="Langue"' in fr
    assert "<h1>Decks</h1>" in en and f"{count} slides" in en and "<h3>Part 1</h3>" in en
    assert "Partie" not in en and not any("labels" in m for m in b.messages)


def test_every_language_has_every_english_label():
    for lang, table in LABELS.items():
        assert set(table) == set(LABELS["en"]), lang


def test_a_language_without_labels_falls_back_to_english_with_one_warning(tmp_path):
    chapter = "# Eins\n\n???\n\n:DE:- Erstes Thema\n\n---\n\n# Zwei\n\n???\n\n:DE:- Zweites Thema\n"
    b = make(tmp_path, {"a.md": chapter, "b.md": "# Drei\n\n???\n\n:DE:- Drittes\n"},
             "title: Sprachen\ncontent:\n- a.md\n- b.md\n")
    assert b.ok, b.messages
    de = (b.out / "de" / "index.html").read_text(encoding="utf-8")
    assert "<h1>Decks</h1>" in de and "Erstes Thema" in de and "<h3>Part 1</h3>" in de
    warnings = [m for m in b.messages if "labels" in m]
    assert len(warnings) == 1 and warnings[0].startswith("a.md: warning: ") and " DE " in warnings[0], b.messages


@pytest.mark.parametrize("with_toc", [False, True])
def test_title_slides_link_only_to_slides_that_exist(tmp_path, with_toc):
    files = {"a.md": "# First\n\nx\n\n---\n\n# Second\n\ny\n", "b.md": "# Third\n\nz\n"}
    content = "- a.md\n- b.md\n"
    if with_toc:
        files["toc.md"] = "@@TOC@@\n"
        content = "- toc.md\n" + content
    b = make(tmp_path, files, "title: Nav\ncontent:\n" + content)
    assert b.ok, b.messages
    names = {s["name"] for s in b.slides if s["name"]}
    titles = [s for s in b.slides if s["name"] in ("toc-first", "toc-second", "toc-third")]
    navs = [re.findall(r'href="#([^"]*)"', s["html"]) for s in titles]
    for nav in navs:
        assert nav and set(nav) <= names, (nav, names)
    if with_toc:
        assert navs[0] == ["toc-part-1", "toc-part-1", "toc-second"]
        assert navs[2] == ["toc-second", "toc-part-2", "toc-part-2"]
    else:
        assert navs == [["toc-second"], ["toc-first", "toc-third"], ["toc-second"]]
        assert "table of contents" not in b.page
