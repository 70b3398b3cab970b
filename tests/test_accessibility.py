"""Accessibility of the built decks: axe-core (from npm, labdeck/node/node_modules,
pinned in labdeck/node/package-lock.json) run in Chromium over every slide of the sample
decks, in the default theme (light and dark), the built-in `dark` theme and the
example project theme `paper` (slides/themes/), and over the player's own panels
(overview, search, help, presenter view). No violation of WCAG 2.x level A
or AA is allowed. Text axe cannot see (badges drawn by CSS ::before) is
measured here with the same WCAG formula."""
from __future__ import annotations

from pathlib import Path

import shutil

import pytest

from labdeck.build import build, default_manifests

ROOT = Path(__file__).resolve().parent.parent
# npm installs labdeck's JavaScript in labdeck/node/ (package.json, package-lock.json)
AXE = next((p for p in (ROOT / "labdeck" / "node" / "node_modules" / "axe-core" / "axe.min.js",
                        ROOT / "node_modules" / "axe-core" / "axe.min.js") if p.is_file()),
           ROOT / "labdeck" / "node" / "node_modules" / "axe-core" / "axe.min.js")
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
SCHEMES = ["light", "dark"]
# (theme named in the manifests, the reader's colour scheme)
LOOKS = [("default", "light"), ("default", "dark"), ("dark", "light"), ("paper", "light")]

pytestmark = pytest.mark.skipif(not AXE.is_file(),
                                reason="axe-core is not installed (run `npm ci --prefix labdeck/node`, or ./dev test)")


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> tuple[Path, list[str]]:
    return themed(tmp_path_factory, "default")


_themed: dict[str, tuple[Path, list[str]]] = {}


def themed(tmp_path_factory, theme: str) -> tuple[Path, list[str]]:
    """The sample decks built with `theme: <theme>` added to their manifests (a copy of slides/)."""
    if theme not in _themed:
        src = tmp_path_factory.mktemp(f"slides-{theme}")
        shutil.copytree(ROOT / "slides", src, dirs_exist_ok=True)
        manifests = default_manifests(src)
        assert manifests, "the sample decks are in slides/"
        if theme != "default":
            for m in manifests:
                m.write_text(m.read_text() + f"\ntheme: {theme}\n")
        out = tmp_path_factory.mktemp(f"dist-{theme}")
        result = build(manifests, out, quiet=True, cache_dir=tmp_path_factory.mktemp("cache"))
        assert not result.failed, [str(d) for d in result.diagnostics.items]
        assert not [d for d in result.diagnostics.items if "theme" in str(d)]
        _themed[theme] = out, [m.stem for m in manifests]
    return _themed[theme]


def axe(page) -> list[str]:
    """Violations of WCAG A/AA on the page as it is now, one line each."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
        .then(r => r.violations.flatMap(v => v.nodes.map(n =>
            `${v.id} (${v.impact}): ${n.target.join(' ')}: ${n.failureSummary.replace(/\\s+/g, ' ').slice(0, 300)}`)))""",
                          WCAG_A_AA)
    return found


def open_deck(browser, dist: Path, stem: str, scheme: str, fragment: str = ""):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, color_scheme=scheme)
    page = ctx.new_page()
    page.goto((dist / f"{stem}.html").as_uri() + fragment)
    page.wait_for_function("window.slideshow && slideshow.getCurrentSlideIndex() >= 0")
    return ctx, page


@pytest.mark.parametrize("theme, scheme", LOOKS)
def test_every_slide_of_the_sample_decks_passes_axe(browser, tmp_path_factory, theme, scheme):
    dist, stems = themed(tmp_path_factory, theme)
    problems = []
    for stem in stems:
        ctx, page = open_deck(browser, dist, stem, scheme)
        page.evaluate("slideshow.loadImages()")
        # the print layout shows every slide at once: one axe run covers the deck
        page.emulate_media(media="print")
        shown = page.evaluate("[...document.querySelectorAll('.remark-slide-container')].every(el => el.getClientRects().length)")
        assert shown
        problems += [f"{stem}: {p}" for p in axe(page)]
        ctx.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_player_panels_pass_axe(browser, samples, scheme):
    dist, stems = samples
    ctx, page = open_deck(browser, dist, stems[0], scheme, "#5")
    problems = [f"slide: {p}" for p in axe(page)]
    # a slide with a code block wider than the slide: it scrolls, so it takes the focus
    wide = page.evaluate("""() => [...document.querySelectorAll('.remark-slide-container')].findIndex(el => {
        const shown = el.classList.contains('remark-visible');
        el.classList.add('remark-visible');
        const wide = [...el.querySelectorAll('pre > code.remark-code')].some(c => c.scrollWidth > c.clientWidth + 1);
        if (!shown) el.classList.remove('remark-visible');
        return wide; })""")
    assert wide >= 0, "the sample decks have a code block that scrolls"
    page.evaluate(f"slideshow.gotoSlide({wide + 1})")
    problems += [f"slide {wide + 1}: {p}" for p in axe(page)]
    page.evaluate("slideshow.gotoSlide(5)")
    page.keyboard.press("o")
    problems += [f"overview: {p}" for p in axe(page)]
    page.keyboard.press("Escape")
    page.keyboard.press("/")
    page.keyboard.type("service")
    problems += [f"search: {p}" for p in axe(page)]
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    problems += [f"help: {p}" for p in axe(page)]
    page.keyboard.press("Escape")
    page.keyboard.press("p")
    problems += [f"presenter: {p}" for p in axe(page)]
    ctx.close()
    assert not problems, "\n".join(problems)


CONTRAST = """() => {
  const rgb = c => { const m = c.match(/[\\d.]+/g).map(Number); return m.length > 3 && m[3] === 0 ? null : m.slice(0, 3); };
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const background = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor); if (c) return c; } return [255, 255, 255]; };
  const out = {};
  const check = (name, el, pseudo) => {
    if (!el) return;
    const s = getComputedStyle(el, pseudo);
    const bg = pseudo ? (rgb(s.backgroundColor) || background(el)) : background(el);
    out[name] = Math.round(ratio(rgb(s.color), bg) * 100) / 100;
  };
  check('slide number', document.querySelector('.remark-visible .remark-slide-number'));
  check('part/chapter label', document.querySelector('.remark-visible .labdeck-section'));
  check('Lab badge', document.querySelector('.lab'), '::before');
  check('Extra details ribbon', document.querySelector('.remark-slide-content.extra-details'), '::before');
  check('warning icon', document.querySelector('.warning'), '::before');
  return out;
}"""


@pytest.mark.parametrize("theme, scheme", LOOKS)
def test_theme_text_drawn_by_css_meets_aa(browser, tmp_path_factory, theme, scheme):
    dist, stems = themed(tmp_path_factory, theme)
    ratios = {}
    for stem in stems:
        ctx, page = open_deck(browser, dist, stem, scheme)
        page.emulate_media(media="print")       # every slide laid out, so every badge has a computed style
        for name, value in page.evaluate(CONTRAST).items():
            ratios[name] = min(value, ratios.get(name, value))
        ctx.close()
    assert {"slide number", "Lab badge", "Extra details ribbon"} <= set(ratios), ratios
    low = {k: v for k, v in ratios.items() if v < (3 if k == "warning icon" else 4.5)}
    assert low == {}, f"below WCAG AA: {low}"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_index_pages_pass_axe(browser, samples, scheme):
    dist, _ = samples
    pages = [dist / "index.html"] + sorted(dist.glob("*/index.html"))
    problems = []
    for path in pages:
        ctx = browser.new_context(viewport={"width": 1280, "height": 720}, color_scheme=scheme)
        page = ctx.new_page()
        page.goto(path.as_uri())
        problems += [f"{path.relative_to(dist)}: {p}" for p in axe(page)]
        ctx.close()
    assert not problems, "\n".join(problems)
