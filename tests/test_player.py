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
- - afternoon.md
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
# Morning session

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
- coffee at the café downstairs
"""

AFTERNOON = """\
# Afternoon session

## Wrapping up

- one more thing about the exercise

---

## Questions

- anything at all
"""


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    (src / "player.yml").write_text(MANIFEST)
    (src / "opening.md").write_text(OPENING)
    (src / "body.md").write_text(BODY)
    (src / "afternoon.md").write_text(AFTERNOON)
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


# ---- overview, search, progress, wheel, accessibility (issue 13) ----

def index_of_text(page, text: str) -> int:
    """The first slide whose content shows `text`."""
    return page.evaluate("""t => [...document.querySelectorAll('.remark-slide-container')].findIndex(
        el => el.querySelector('.remark-slide-content').textContent.includes(t))""", text)


def test_overview_is_a_grid_of_the_real_slides(context, dist):
    page = open_deck(context, dist, "#agenda")
    here = current(page)
    page.keyboard.press("o")
    assert page.evaluate("slideshow.isOverviewOpen()")
    cells = page.locator(".labdeck-overview-cell")
    assert cells.count() == page.evaluate("slideshow.getSlideCount()")   # a small deck fits in view
    # each cell holds a copy of its slide's own DOM, scaled down
    same = page.evaluate("""() => [...document.querySelectorAll('.labdeck-overview-cell')].every(cell => {
        const i = Number(cell.dataset.index);
        const orig = document.querySelectorAll('.remark-slide-container')[i].querySelector('.remark-slide-content');
        const copy = cell.querySelector('.remark-slide-content');
        return copy && copy.innerHTML === orig.innerHTML && cell.querySelector('.remark-slide').style.transform.startsWith('scale(');
    })""")
    assert same
    marked = page.locator(".labdeck-overview-current")
    assert marked.count() == 1 and marked.get_attribute("data-index") == str(here)
    assert marked.get_attribute("aria-current") == "true"
    box = page.locator(f".labdeck-overview-cell[data-index='{here}'] .labdeck-overview-thumb").bounding_box()
    assert 150 < box["width"] < 400 and abs(box["height"] - box["width"] * 512 / 908) < 2
    # the keyboard moves the selection; Enter goes there
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.activeElement.dataset.index") == str(here + 1)
    assert current(page) == here, "moving in the overview does not change the slide yet"
    page.keyboard.press("Enter")
    assert not page.evaluate("slideshow.isOverviewOpen()")
    assert current(page) == here + 1
    assert visible_slides(page) == [here + 2]
    # Escape closes without moving; a click goes
    page.keyboard.press("o")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")
    assert current(page) == here + 1 and not page.evaluate("slideshow.isOverviewOpen()")
    page.keyboard.press("o")
    page.locator(".labdeck-overview-cell[data-index='0']").click()
    assert current(page) == 0
    assert context.watch.errors == []


@pytest.fixture(scope="module")
def big_dist(tmp_path_factory) -> Path:
    """A deck of 1,500 slides: the overview and search must not touch them all at once."""
    src = tmp_path_factory.mktemp("big-src")
    (src / "big.yml").write_text("title: Big deck\ncontent:\n- big.md\n")
    (src / "big.md").write_text("\n---\n".join(
        f"## Slide about topic {i}\n\n- item {i} of the long deck\n" + ("\n```bash\necho needle\n```\n" if i % 500 == 7 else "")
        for i in range(1500)))
    out = tmp_path_factory.mktemp("big-dist")
    result = build([src / "big.yml"], out, source_root=src, quiet=True)
    assert not result.failed
    return out


def test_overview_of_a_large_deck_holds_only_the_rows_in_view(browser, big_dist, watch):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    w = watch(ctx, big_dist)
    page = ctx.new_page()
    page.goto((big_dist / "big.html").as_uri() + "#1200")
    page.wait_for_function("window.slideshow && slideshow.getCurrentSlideIndex() === 1199")
    page.keyboard.press("o")
    shown = page.evaluate("[...document.querySelectorAll('.labdeck-overview-cell')].map(c => Number(c.dataset.index))")
    assert 1199 in shown and len(shown) < 80
    top = page.locator(".labdeck-overview-current").bounding_box()["y"]
    assert 0 <= top < 720, "the current slide is in view"
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.dataset.index") == "1499"
    assert page.locator(".labdeck-overview-cell[data-index='1199']").count() == 0, "rows out of view are dropped"
    page.keyboard.press("Enter")
    assert page.evaluate("slideshow.getCurrentSlideIndex()") == 1499
    assert w.errors == []
    ctx.close()


def search_state(page) -> dict:
    return page.evaluate("""() => ({index: slideshow.getCurrentSlideIndex(),
        count: document.querySelector('.labdeck-search-count').textContent,
        marked: CSS.highlights.has('labdeck-search') ? [...CSS.highlights.get('labdeck-search')].map(r => r.toString()) : []})""")


def test_search_finds_slides_and_notes_and_steps_through_matches(context, dist):
    page = open_deck(context, dist)
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.matches('.labdeck-search input')")
    page.keyboard.type("good morning")          # inside a code block of the exercise
    state = search_state(page)
    assert state["index"] == index_of_name(page, "the-exercise")
    assert state["count"] == "1 of 1"
    assert [m.lower() for m in state["marked"]] == ["good morning"]
    page.fill(".labdeck-search input", "")
    page.keyboard.type("WAIT FOR everybody")   # only in the notes, any case
    state = search_state(page)
    assert state["index"] == index_of_name(page, "the-exercise") and "in the notes" in state["count"]
    page.fill(".labdeck-search input", "")
    page.keyboard.type("cafe")                 # accents ignored
    assert search_state(page)["index"] == index_of_text(page, "café")
    assert search_state(page)["marked"] == ["café"]
    page.fill(".labdeck-search input", "")
    page.keyboard.type("nothing like this anywhere")
    assert search_state(page)["count"] == "no match"
    # "step" is on every step of "Two steps": found once, on the step where it appears
    page.fill(".labdeck-search input", "")
    page.keyboard.type("the first step")
    assert search_state(page)["count"] == "1 of 1"
    assert search_state(page)["index"] == index_of_text(page, "the first step")
    page.fill(".labdeck-search input", "")
    page.keyboard.type("exercise")
    hits = page.evaluate("""() => [...document.querySelectorAll('.remark-slide-container')].map((el, i) => [i,
        (el.querySelector('.remark-slide-content').textContent + (el.querySelector('template')?.content.textContent || ''))
        .toLowerCase().includes('exercise')]).filter(x => x[1]).map(x => x[0])""")
    assert len(hits) >= 3
    seen = [search_state(page)["index"]]
    for _ in range(len(hits) - 1):
        page.keyboard.press("Enter")
        seen.append(search_state(page)["index"])
    assert seen == hits and search_state(page)["count"] == f"{len(hits)} of {len(hits)}"
    page.keyboard.press("Enter")                # wraps around
    assert search_state(page)["index"] == hits[0]
    page.keyboard.press("Shift+Enter")
    assert search_state(page)["index"] == hits[-1]
    page.keyboard.press("Escape")
    assert page.locator(".labdeck-search").is_hidden()
    assert current(page) == hits[-1], "closing the search stays on the slide found"
    assert page.url.endswith(page.evaluate("slideshow.currentHash()")), "the URL names the slide found"
    assert search_state(page)["marked"] == []
    page.keyboard.press("ArrowLeft")            # the keyboard drives the deck again
    assert current(page) == hits[-1] - 1
    assert context.watch.errors == []


def test_search_on_a_large_deck(browser, big_dist):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    page.goto((big_dist / "big.html").as_uri() + "#600")
    page.wait_for_function("window.slideshow && slideshow.getCurrentSlideIndex() === 599")
    assert page.evaluate("slideshow.search('needle')") == [7, 507, 1007]
    assert page.evaluate("slideshow.getCurrentSlideIndex()") == 1007, "the first match after where the search began"
    assert page.evaluate("slideshow.search('topic 1499')") == [1499]
    ctx.close()


def test_progress_bar_and_part_chapter_label(browser, dist, watch):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, reduced_motion="reduce")
    page = open_deck(ctx, dist)
    n = page.evaluate("slideshow.getSlideCount()")
    bar = page.locator(".labdeck-progress-bar")
    assert bar.bounding_box()["width"] < 1
    page.keyboard.press("End")
    assert abs(bar.bounding_box()["width"] - 1280) < 1
    page.evaluate("slideshow.gotoSlide(%d)" % (n // 2 + 1))
    assert abs(bar.bounding_box()["width"] - 1280 * (n // 2) / (n - 1)) < 1
    # the label names the part (the deck has two) and the chapter of the slide shown
    page.evaluate("slideshow.gotoSlide(%d)" % (index_of_text(page, "the second step") + 1))
    label = page.locator(".remark-visible .labdeck-section")
    assert label.inner_text() == "Part 1 \u00b7 Morning session"
    page.evaluate("slideshow.gotoSlide(%d)" % (index_of_text(page, "anything at all") + 1))
    assert label.inner_text() == "Part 2 \u00b7 Afternoon session"
    page.keyboard.press("Home")                 # the opening belongs to no part
    assert page.locator(".labdeck-section").is_hidden()
    ctx.close()


def test_reduced_motion_is_respected(browser, dist):
    durations = {}
    for motion in ("no-preference", "reduce"):
        ctx = browser.new_context(viewport={"width": 1280, "height": 720}, reduced_motion=motion)
        page = open_deck(ctx, dist)
        durations[motion] = page.evaluate("""() => [...document.querySelectorAll('*')].map(el => {
            const s = getComputedStyle(el);
            return parseFloat(s.transitionDuration) + parseFloat(s.animationDuration);
        }).filter(d => d > 0).length""")
        ctx.close()
    assert durations["no-preference"] >= 1, "the progress bar glides"
    assert durations["reduce"] == 0, "nothing moves when motion is reduced"


def test_mouse_wheel_pages_with_a_pause_between_turns(context, dist):
    page = open_deck(context, dist)
    page.mouse.move(640, 360)
    page.mouse.wheel(0, 120)
    page.wait_for_function("slideshow.getCurrentSlideIndex() === 1")
    page.wait_for_timeout(400)
    # a burst of wheel events (a trackpad, a free-spinning wheel) turns one slide
    page.evaluate("""() => { for (let k = 0; k < 10; k++)
        document.querySelector('.remark-visible').dispatchEvent(new WheelEvent('wheel', {deltaY: 100, bubbles: true})); }""")
    assert current(page) == 2
    page.wait_for_timeout(400)
    page.mouse.wheel(0, -120)
    page.wait_for_function("slideshow.getCurrentSlideIndex() === 1")


def test_slide_area_is_an_announced_region(context, dist):
    page = open_deck(context, dist, "#agenda")
    n = page.evaluate("slideshow.getSlideCount()")
    i = current(page)
    area = page.locator(".remark-slides-area")
    assert area.get_attribute("role") == "region"
    assert area.get_attribute("aria-roledescription") == "slide"
    assert area.get_attribute("aria-label") == f"Slide {i + 1} of {n}: What we will see"
    live = page.locator("[aria-live='polite'].labdeck-sr-only")
    assert live.count() == 1
    page.keyboard.press("ArrowRight")
    # the next slide is the chapter's title slide: a bare paragraph, as markmaker writes them
    assert live.inner_text() == f"Slide {i + 2} of {n}: Morning session"
    # focus: Tab reaches the links of the slide shown, Enter follows one, the keys still page
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#the-exercise"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    page.wait_for_function("n => slideshow.getCurrentSlideIndex() === n", arg=index_of_name(page, "the-exercise"))
    assert page.evaluate("document.activeElement.classList.contains('remark-slides-area')"), \
        "focus leaves the slide that was hidden"
    page.keyboard.press("ArrowRight")
    assert current(page) == index_of_name(page, "the-exercise") + 1
    assert context.watch.errors == []
