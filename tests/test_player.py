"""The built deck, played in real headless Chromium from file://.

The deck is built by the real builder (labdeck.build.build) from a small
manifest and chapter written here, then driven with the keyboard."""
from __future__ import annotations

import json
from pathlib import Path

import jinja2
import pytest

from labdeck.build import build

ROOT = Path(__file__).resolve().parent.parent

MANIFEST = """\
title: Player test deck
chat: "the room"
gitrepo: example.org/labdeck
slides: https://example.org/
slidenumberprefix: "PT &mdash; "
exclude:
- in-person
content:
- opening.md
- - body.md
"""

OPENING = """\
class: title

Player test deck

---

name: agenda

## What we will see

- [Straight to the exercise](#the-exercise)

- a point about nothing in particular

???

Say hello to the room before starting.
"""

BODY = """\
## Two steps

- the first step

--

- the second step

---

name: the-exercise

## An exercise

.lab[

- Greet the terminal:
  ```bash
  echo good morning
  ```

]

???

Wait for everybody to finish.

---

class: extra-details

## For the curious

- nobody has to read this

---

## The end

- [Back to what we will see](#agenda)
"""


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    (src / "player.yml").write_text(MANIFEST)
    (src / "opening.md").write_text(OPENING)
    (src / "body.md").write_text(BODY)
    out = tmp_path_factory.mktemp("dist")
    result = build([src / "player.yml"], out, source_root=src, quiet=True)
    assert not result.failed, [str(d) for d in result.diagnostics.items]
    return out


def deck_count(dist: Path, stem: str = "player") -> int:
    """The slide count build.json records for a deck (decks listed or keyed by stem)."""
    data = json.loads((dist / "build.json").read_text())
    decks = data.get("decks", data) if isinstance(data, dict) else data
    if isinstance(decks, dict):
        decks = [dict(d, stem=d.get("stem", k)) for k, d in decks.items() if isinstance(d, dict)]
    for d in decks:
        if d.get("stem") == stem:
            n = d.get("count", d.get("slides"))
            return n if isinstance(n, int) else len(n)
    raise AssertionError(f"no deck {stem!r} in build.json")


@pytest.fixture
def context(browser, dist, watch):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    ctx.watch = watch(ctx, dist)
    yield ctx
    ctx.close()


def open_deck(context, dist: Path, fragment: str = ""):
    page = context.new_page()
    page.goto((dist / "player.html").as_uri() + fragment)
    page.wait_for_function("window.slideshow && slideshow.getCurrentSlideIndex() >= 0")
    return page


def current(page) -> int:
    return page.evaluate("slideshow.getCurrentSlideIndex()")


def index_of_name(page, name: str) -> int:
    return page.evaluate(
        "n => Number(document.querySelector(`.remark-slide-container[data-name='${n}']`).dataset.number) - 1", name)


def visible_slides(page) -> list[int]:
    return page.evaluate("""() => [...document.querySelectorAll('.remark-slide-container')]
        .filter(el => el.getClientRects().length > 0).map(el => Number(el.dataset.number))""")


def test_slide_count_is_build_json_count(context, dist):
    page = open_deck(context, dist)
    n = deck_count(dist)
    assert n >= 7
    assert page.evaluate("slideshow.getSlideCount()") == n
    assert page.locator(".remark-slide-container").count() == n


def test_keyboard_navigation(context, dist):
    page = open_deck(context, dist)
    last = page.evaluate("slideshow.getSlideCount()") - 1
    steps = [("ArrowRight", 1), ("ArrowRight", 2), ("ArrowLeft", 1), ("Space", 2), ("PageDown", 3),
             ("PageUp", 2), ("ArrowDown", 3), ("ArrowUp", 2), ("End", last), ("ArrowRight", last),
             ("Home", 0), ("ArrowLeft", 0)]
    for key, expected in steps:
        page.keyboard.press(key)
        assert current(page) == expected, key
    page.keyboard.type("4")
    page.keyboard.press("Enter")
    assert current(page) == 3
    assert context.watch.errors == []


def test_only_the_current_slide_is_laid_out(context, dist):
    page = open_deck(context, dist)
    assert visible_slides(page) == [1]
    page.keyboard.press("ArrowRight")
    assert visible_slides(page) == [2]


def test_url_hash_follows_the_slide(context, dist):
    page = open_deck(context, dist)
    page.keyboard.press("End")
    n = page.evaluate("slideshow.getSlideCount()")
    assert page.url.endswith(f"#{n}")
    page.evaluate("slideshow.gotoSlide(%d)" % (index_of_name(page, "agenda") + 1))
    assert page.url.endswith("#agenda")


def test_name_link_goes_to_the_named_slide(context, dist):
    page = open_deck(context, dist, "#agenda")
    assert current(page) == index_of_name(page, "agenda")
    page.locator(".remark-visible a[href='#the-exercise']").click()
    page.wait_for_function("n => slideshow.getCurrentSlideIndex() === n", arg=index_of_name(page, "the-exercise"))
    assert page.url.endswith("#the-exercise")
    assert visible_slides(page) == [index_of_name(page, "the-exercise") + 1]


def test_reload_lands_on_the_same_slide(context, dist):
    page = open_deck(context, dist, "#3")
    assert current(page) == 2
    page.keyboard.press("ArrowRight")
    page.reload()
    page.wait_for_function("window.slideshow && slideshow.getCurrentSlideIndex() >= 0")
    assert current(page) == 3
    page.goto((dist / "player.html").as_uri() + "#the-exercise")
    page.wait_for_function("window.slideshow")
    assert current(page) == index_of_name(page, "the-exercise")


def test_presenter_view_shows_current_next_and_notes(context, dist):
    page = open_deck(context, dist, "#agenda")
    i = current(page)
    page.keyboard.press("p")
    assert page.evaluate("slideshow.isPresenterMode()")
    assert visible_slides(page) == [i + 1, i + 2]
    cur = page.locator(".remark-visible").bounding_box()
    nxt = page.locator(".remark-preview").bounding_box()
    assert cur["x"] + cur["width"] <= nxt["x"], "next slide must sit beside the current one"
    assert "Say hello to the room" in page.locator(".labdeck-notes").inner_text()
    assert page.locator(".labdeck-timer").inner_text().startswith("0:00:")
    page.keyboard.press("ArrowRight")
    assert visible_slides(page) == [i + 2, i + 3]
    page.keyboard.press("p")
    assert visible_slides(page) == [i + 2]


def test_clone_window_follows(context, dist):
    page = open_deck(context, dist)
    with context.expect_page() as popup:
        page.keyboard.press("c")
    clone = popup.value
    clone.wait_for_function("window.slideshow && slideshow.isClone()")
    page.keyboard.press("End")
    last = current(page)
    clone.wait_for_function("n => slideshow.getCurrentSlideIndex() === n", arg=last)
    clone.keyboard.press("Home")   # the clone drives the main window too
    page.wait_for_function("slideshow.getCurrentSlideIndex() === 0")
    assert context.watch.errors == []


def test_print_shows_every_slide(context, dist):
    page = open_deck(context, dist)
    page.emulate_media(media="print")
    assert visible_slides(page) == list(range(1, page.evaluate("slideshow.getSlideCount()") + 1))


def test_lab_and_extra_details_are_badged(context, dist):
    page = open_deck(context, dist, "#the-exercise")
    badge = page.evaluate("getComputedStyle(document.querySelector('.remark-visible .lab'), '::before').content")
    assert "Lab" in badge
    page.evaluate("""slideshow.gotoSlide(Number(document.querySelector(
        '.remark-slide-content.extra-details').closest('.remark-slide-container').dataset.number))""")
    ribbon = page.evaluate(
        "getComputedStyle(document.querySelector('.remark-visible .remark-slide-content'), '::before').content")
    assert "Extra details" in ribbon


def test_no_console_errors_and_no_request_outside_dist(context, dist):
    page = open_deck(context, dist)
    n = page.evaluate("slideshow.getSlideCount()")
    for _ in range(n):
        page.keyboard.press("ArrowRight")
    for key in ["p", "?", "Escape", "b", "b", "p", "Home"]:
        page.keyboard.press(key)
    page.emulate_media(media="print")
    page.screenshot()
    assert context.watch.errors == []
    assert context.watch.outside == []


def test_index_page_marks_untranslated_chapters():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "templates"), autoescape=True)
    from labdeck.labels import labels
    html = env.get_template("index.html.j2").render(
        lang="fr", assets="../assets", labels=labels("fr"),
        languages=[{"code": "en", "href": "../index.html"}, {"code": "fr", "href": "index.html"}],
        decks=[{"title": "A <deck>", "href": "../a.html", "count": 12, "parts": [{"number": 1, "chapters": [
            {"title": "Bonjour", "href": "../a.html#c1", "topics": ["premier sujet"], "untranslated": False},
            {"title": "Only English", "href": "../a.html#c2", "topics": [], "untranslated": True},
        ]}]}])
    assert "A &lt;deck&gt;" in html
    assert 'href="../a.html#c1"' in html and "premier sujet" in html
    assert '<li class="chapter untranslated">' in html and "non traduit</span>" in html
    assert '<li class="chapter">' in html
    assert 'href="../index.html" hreflang="en"' in html
    assert "12 diapositives" in html
