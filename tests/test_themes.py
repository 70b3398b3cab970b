"""Themes: the default theme follows prefers-color-scheme, `theme: light|dark`
pins one, and a project's own theme folder (CSS, a template, files) is used
and shipped in dist/. Built by the real builder, looked at in Chromium."""
from __future__ import annotations

from pathlib import Path

import pytest

from labdeck.build import build

CHAPTER = """\
# Colours

## A slide with code

```bash
echo "hello"   # a comment
```

- [a link](#1) in a sentence
"""


def make_deck(folder: Path, theme: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "chapter.md").write_text(CHAPTER)
    manifest = folder / "deck.yml"
    manifest.write_text("title: Theme test\n" + (f"theme: {theme}\n" if theme else "") + "content:\n- chapter.md\n")
    return manifest


def built(tmp_path: Path, theme: str | None, setup=None):
    src = tmp_path / "src"
    manifest = make_deck(src, theme)
    if setup:
        setup(src)
    out = tmp_path / "dist"
    result = build([manifest], out, quiet=True, cache_dir=tmp_path / "cache")
    assert not result.failed, [str(d) for d in result.diagnostics.items]
    return out, result


def colours(browser, dist: Path, scheme: str, watch=None) -> dict:
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, color_scheme=scheme)
    w = watch(ctx, dist) if watch else None
    page = ctx.new_page()
    page.goto((dist / "deck.html").as_uri())
    page.wait_for_function("window.slideshow && slideshow.getCurrentSlideIndex() === 0")
    page.keyboard.press("End")                   # the slide with the code
    found = page.evaluate("""() => ({
        slide: getComputedStyle(document.querySelector('.remark-visible .remark-slide')).backgroundColor,
        text: getComputedStyle(document.querySelector('.remark-visible .remark-slide-content')).color,
        code: getComputedStyle(document.querySelector('.remark-visible code.remark-code')).backgroundColor,
        string: getComputedStyle(document.querySelector('.remark-visible .remark-code .s2')).color,
        body: document.body.className,
        font: getComputedStyle(document.querySelector('.remark-visible h2')).fontFamily,
        marker: document.querySelector('.labdeck-made-by') ? document.querySelector('.labdeck-made-by').textContent : null,
    })""")
    if w:
        assert w.errors == [] and w.outside == []
    ctx.close()
    return found


WHITE, DARK = "rgb(255, 255, 255)", "rgb(27, 30, 35)"


def test_default_theme_follows_the_reader_colour_scheme(browser, tmp_path):
    dist, _ = built(tmp_path, None)
    light, dark = colours(browser, dist, "light"), colours(browser, dist, "dark")
    assert light["slide"] == WHITE and dark["slide"] == DARK
    assert light["text"] != dark["text"] and light["code"] != dark["code"]
    assert light["string"] != dark["string"], "code colours follow the scheme too"


@pytest.mark.parametrize("theme, expected", [("dark", DARK), ("light", WHITE)])
def test_manifest_theme_pins_one_scheme(browser, tmp_path, watch, theme, expected):
    dist, _ = built(tmp_path, theme)
    assert (dist / "assets" / "themes" / theme / "theme.css").is_file()
    for scheme in ("light", "dark"):
        seen = colours(browser, dist, scheme, watch)
        assert seen["slide"] == expected, scheme
        assert f"labdeck-theme-{theme}" in seen["body"]


def test_unknown_theme_is_a_located_warning(tmp_path):
    dist, result = built(tmp_path, "no-such-theme")
    messages = [str(d) for d in result.diagnostics.items]
    assert any("deck.yml:2: warning: unknown theme 'no-such-theme'" in m and "dark, light" in m for m in messages), messages
    assert (dist / "deck.html").is_file()
    assert "assets/themes/" not in (dist / "deck.html").read_text()


def add_project_theme(src: Path) -> None:
    folder = src / "themes" / "stripes"
    (folder / "fonts").mkdir(parents=True)
    (folder / "theme.css").write_text(
        ":root { --labdeck-slide-bg: light-dark(#fdf6e3, #002b36); }\n"
        ".remark-slide-content h2 { font-family: 'Stripes Serif', serif; }\n"
        "@font-face { font-family: 'Stripes Serif'; src: url(fonts/none.woff2) format('woff2'); }\n")
    (folder / "fonts" / "none.woff2").write_bytes(b"not a real font")
    (folder / "deck.html.j2").write_text(
        '{% extends "labdeck/deck.html.j2" %}\n'
        '{% block body_end %}<div class="labdeck-made-by">made with the {{ theme }} theme</div>{% endblock %}\n')


def test_project_theme_folder_adds_css_template_and_files(browser, tmp_path, watch):
    dist, _ = built(tmp_path, "stripes", add_project_theme)
    assert (dist / "assets" / "themes" / "stripes" / "theme.css").is_file()
    assert (dist / "assets" / "themes" / "stripes" / "fonts" / "none.woff2").is_file()
    assert not (dist / "assets" / "themes" / "stripes" / "deck.html.j2").exists(), "templates are not shipped"
    seen = colours(browser, dist, "light", watch)
    assert seen["slide"] == "rgb(253, 246, 227)"
    assert seen["font"].startswith('"Stripes Serif"')
    assert seen["marker"] == "made with the stripes theme"
    assert "labdeck-theme-stripes" in seen["body"]
    assert colours(browser, dist, "dark")["slide"] == "rgb(0, 43, 54)"


def test_theme_edit_rebuilds_the_deck(tmp_path):
    dist, _ = built(tmp_path, "stripes", add_project_theme)
    css = tmp_path / "src" / "themes" / "stripes" / "theme.css"
    css.write_text(css.read_text() + "h1 { color: red; }\n")
    result = build([tmp_path / "src" / "deck.yml"], dist, quiet=True, cache_dir=tmp_path / "cache")
    assert not result.unchanged, "a changed theme file makes the deck out of date"
    assert "color: red" in (dist / "assets" / "themes" / "stripes" / "theme.css").read_text()
