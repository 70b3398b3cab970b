"""remark's layout classes (`left`, `center`, `right`, `top`, `middle`,
`bottom`, `inverse`) place a slide's content as remark's stylesheet does:
measured on the built deck in Chromium, with element positions."""
from __future__ import annotations

from pathlib import Path

import pytest

from labdeck.build import build

CHAPTER = """\
name: plain

## Plain heading

A line of text.

---

name: centred
class: center, middle

# Centred title

A line under it.

---

name: low
class: bottom, right

## Low and right

---

name: high
class: top

## At the top

---

name: dark
class: inverse

## Dark heading

Some words.

---

name: inside

## Inside a slide

.center[a centred block]

.right[a block on the right]
"""

MEASURE = """() => {
  const c = document.querySelector('.remark-visible .remark-slide-content');
  const box = c.getBoundingClientRect();
  const cs = getComputedStyle(c);
  const pad = {top: parseFloat(cs.paddingTop), bottom: parseFloat(cs.paddingBottom),
               left: parseFloat(cs.paddingLeft), right: parseFloat(cs.paddingRight)};
  const kids = Array.from(c.children).filter(e => !e.classList.contains('remark-slide-number'));
  const r = document.createRange();
  const text = e => { r.selectNodeContents(e); return r.getBoundingClientRect(); };
  const first = kids[0].getBoundingClientRect(), last = kids[kids.length - 1].getBoundingClientRect();
  return {
    box: {top: box.top, bottom: box.bottom, left: box.left, right: box.right},
    pad, top: first.top - parseFloat(getComputedStyle(kids[0]).marginTop),
    bottom: last.bottom + parseFloat(getComputedStyle(kids[kids.length - 1]).marginBottom),
    texts: kids.map(e => { const t = text(e); return {left: t.left, right: t.right}; }),
    background: cs.backgroundColor, color: cs.color,
    heading: getComputedStyle(c.querySelector('h1, h2')).color,
  };
}"""


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    folder = tmp_path_factory.mktemp("layout")
    (folder / "deck.yml").write_text("title: Layout\ncontent:\n- a.md\n", encoding="utf-8")
    (folder / "a.md").write_text(CHAPTER, encoding="utf-8")
    result = build([folder / "deck.yml"], folder / "dist", cache_dir=folder / "cache", quiet=True)
    assert result.ok, [str(d) for d in result.diagnostics.items]
    return folder / "dist" / "deck.html"


@pytest.fixture(scope="module")
def page(browser, deck):
    context = browser.new_context(viewport={"width": 908, "height": 512})
    page = context.new_page()
    page.goto(deck.as_uri())
    page.wait_for_function("window.slideshow")
    yield page
    context.close()


def measure(page, name: str) -> dict:
    page.evaluate("(n) => { location.hash = n; }", name)
    page.wait_for_function("(n) => document.querySelector('.remark-visible').dataset.name === n", arg=name)
    return page.evaluate(MEASURE)


def test_without_a_class_content_starts_top_left(page):
    m = measure(page, "plain")
    assert abs(m["top"] - (m["box"]["top"] + m["pad"]["top"])) < 2
    assert abs(m["texts"][0]["left"] - (m["box"]["left"] + m["pad"]["left"])) < 2


def test_center_middle_centres_both_ways(page):
    m = measure(page, "centred")
    box, pad = m["box"], m["pad"]
    inner_middle = (box["top"] + pad["top"] + box["bottom"] - pad["bottom"]) / 2
    assert abs((m["top"] + m["bottom"]) / 2 - inner_middle) < 2        # the block of content, vertically
    assert m["top"] > box["top"] + 100                                   # really moved down
    inner_centre = (box["left"] + pad["left"] + box["right"] - pad["right"]) / 2
    for t in m["texts"]:                                                 # every line, horizontally
        assert abs((t["left"] + t["right"]) / 2 - inner_centre) < 2


def test_bottom_right_sits_in_the_lower_right_corner(page):
    m = measure(page, "low")
    box, pad = m["box"], m["pad"]
    assert abs(m["bottom"] - (box["bottom"] - pad["bottom"])) < 2
    assert abs(m["texts"][0]["right"] - (box["right"] - pad["right"])) < 2


def test_top_stays_at_the_top(page):
    m = measure(page, "high")
    assert abs(m["top"] - (m["box"]["top"] + m["pad"]["top"])) < 2


def test_inverse_is_light_on_dark(page):
    m = measure(page, "dark")
    assert m["background"] == "rgb(39, 40, 34)"
    assert m["heading"] == "rgb(243, 243, 243)"
    assert m["color"] == "rgb(176, 176, 168)"


def test_alignment_classes_inside_a_slide_are_aligned_blocks(page):
    m = measure(page, "inside")
    box, pad = m["box"], m["pad"]
    inner_centre = (box["left"] + pad["left"] + box["right"] - pad["right"]) / 2
    centred, right = m["texts"][1], m["texts"][2]
    assert abs((centred["left"] + centred["right"]) / 2 - inner_centre) < 2
    assert abs(right["right"] - (box["right"] - pad["right"])) < 2
