"""`build.py pdf`: one PDF page per slide, printed by real Chromium, read back with pypdf."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from labdeck.browser import run_isolated
from labdeck.cli import main as cli
from labdeck.pdf import print_pdf, shares, steps_to_drop


def main(argv):
    """`labdeck pdf ARGV`, in this process."""
    return cli(["pdf", *map(str, argv)])

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

:EN:- Printing slides

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


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    """The build cache (and the pictures drawn for the PDF) in this test's folder."""
    monkeypatch.setenv("LABDECK_CACHE", str(tmp_path / "cache"))


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
    text = pages(out / "printing-handout.pdf")
    assert len(text) == 7 - 3
    assert "opening point" in text[1] and "third point" in text[1]
    assert "alpha" in text[2] and "beta" in text[2]


def test_notes_print_under_their_slide(deck, tmp_path):
    out = tmp_path / "dist"
    assert main([str(deck), "--out", str(out), "--notes", "--no-steps"]) == 0
    text = pages(out / "printing-handout-notes.pdf")
    assert len(text) == 4
    assert "mention the weather" in text[1]
    assert not any("mention the weather" in t for i, t in enumerate(text) if i != 1)
    # the :EN: line left the notes: its topic is in a small list instead
    assert ":EN:" not in text[1] and "Topics" in text[1] and "Printing slides" in text[1]
    page = PdfReader(str(out / "printing-handout-notes.pdf")).pages[1]
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
        name = "k8s-services-handout.pdf" if expected else "k8s-services.pdf"
        assert len(PdfReader(str(out / name)).pages) == want


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


def test_each_variant_has_its_own_file_and_o_names_one(deck, tmp_path, capsys):
    out = tmp_path / "dist"
    for flags in ([], ["--notes"], ["--no-steps"]):
        assert main([str(deck), "--out", str(out), *flags]) == 0
    assert len(pages(out / "printing.pdf")) == 7
    assert len(pages(out / "printing-notes.pdf")) == 7
    assert len(pages(out / "printing-handout.pdf")) == 4
    target = tmp_path / "elsewhere" / "mine.pdf"
    assert main([str(deck), "--out", str(out), "--no-steps", "-o", str(target)]) == 0
    assert len(pages(target)) == 4
    assert "mine.pdf" in capsys.readouterr().out
    assert not list(target.parent.glob(".*.tmp"))


def test_many_runs_merge_in_slide_order(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "many.md").write_text("\n---\n".join(f"## Slide number {k}\n\nbody {k}\n" for k in range(1, 61)),
                                 encoding="utf-8")
    manifest = src / "many.yml"
    manifest.write_text("title: Many\ncontent:\n- many.md\n", encoding="utf-8")
    out = tmp_path / "dist"
    assert main([str(manifest), "--out", str(out), "--workers", "3"]) == 0     # 3 runs, 3 pages
    text = pages(out / "many.pdf")
    assert len(text) == 60
    assert all(f"Slide number {k}" in t and f"Slide number {k + 1}\n" not in t for k, t in enumerate(text, 1))


def test_shares_cut_the_slides_in_order():
    assert shares(10, 2, 3) == [[(0, 2), (2, 5)], [(5, 7), (7, 10)]]
    assert shares(3, 8, 128) == [[(0, 1)], [(1, 2)], [(2, 3)]]          # never an empty page
    assert shares(517, 2, 128) == [[(0, 86), (86, 172), (172, 258)], [(258, 344), (344, 430), (430, 517)]]


def test_pages_with_several_runs_each_keep_slide_order_and_drop_steps(deck, tmp_path):
    """Two pages, runs of one slide: each page holds only its share, steps dropped across shares."""
    out = tmp_path / "dist"
    assert main([str(deck), "--out", str(out), "--no-steps"]) == 0
    whole = pages(out / "printing-handout.pdf")
    slide_list = json.loads((out / "build.json").read_text())["decks"]["printing"]["slide_list"]
    # print_pdf drives Playwright's sync API: in a thread of its own, since the session's
    # browser fixture may hold a Playwright loop in this one
    done = run_isolated(print_pdf, out / "printing.html", tmp_path / "runs.pdf", slide_list, no_steps=True,
                        workers=2, run=1, cache=tmp_path / "cache")
    assert (done.slides, done.pages) == (4, 4)
    assert pages(tmp_path / "runs.pdf") == whole
    done = run_isolated(print_pdf, out / "printing.html", tmp_path / "all.pdf", slide_list, workers=3, run=2,
                        cache=tmp_path / "cache")
    text = pages(tmp_path / "all.pdf")
    assert (done.slides, len(text)) == (7, 7)
    assert "opening point" in text[1] and "second point" not in text[1] and "third point" in text[3]


def _text_scale(page) -> float:
    """How large the page's text is drawn (the text matrix times the current matrix)."""
    found = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            found.append(abs(size * (tm[0] * cm[0] + tm[1] * cm[2])))
    page.extract_text(visitor_text=visit)
    return max(found)


@pytest.mark.parametrize("paper, size_pt", [("a4", (841.9, 595.3)), ("letter", (792, 612))])
def test_paper_sizes_scale_the_slide_to_fit(deck, tmp_path, paper, size_pt):
    out = tmp_path / "dist"
    assert main([str(deck), "--out", str(out)]) == 0
    plain = PdfReader(str(out / "printing.pdf")).pages[1]
    assert main([str(deck), "--out", str(out), "--paper", paper, "-o", str(tmp_path / "paper.pdf")]) == 0
    reader = PdfReader(str(tmp_path / "paper.pdf"))
    assert len(reader.pages) == 7
    page = reader.pages[1]
    assert abs(float(page.mediabox.width) - size_pt[0]) < 2 and abs(float(page.mediabox.height) - size_pt[1]) < 2
    # the slide is scaled to the paper's width (16:9 on a wider-than-tall page)
    expected = size_pt[0] / (908 * 0.75)
    assert abs(_text_scale(page) / _text_scale(plain) - expected) < 0.03
    assert "opening point" in page.extract_text()


def test_notes_on_paper_are_portrait(deck, tmp_path):
    out = tmp_path / "dist"
    assert main([str(deck), "--out", str(out), "--notes", "--paper", "a4"]) == 0
    page = PdfReader(str(out / "printing-notes.pdf")).pages[3]      # the step holding the notes
    assert float(page.mediabox.height) > float(page.mediabox.width)
    assert "mention the weather" in page.extract_text()


def test_a_picture_that_cannot_load_prints_as_a_placeholder(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "pic.md").write_text("## A remote picture\n\n![far away](http://127.0.0.1:9/far.png)\n",
                                encoding="utf-8")
    manifest = src / "pic.yml"
    manifest.write_text("title: Pic\ncontent:\n- pic.md\n", encoding="utf-8")
    out = tmp_path / "dist"
    assert main([str(manifest), "--out", str(out)]) == 0
    [text] = pages(out / "pic.pdf")
    assert "picture not available offline" in text and "127.0.0.1:9" in text
    assert "1 picture(s) could not load" in capsys.readouterr().err


FILTERED_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="800" height="450" viewBox="0 0 800 450">
<defs><filter id="blur"><feGaussianBlur stdDeviation="6"/></filter></defs>
<rect width="800" height="450" fill="#fff"/>
<rect x="100" y="100" width="300" height="200" fill="#36c" filter="url(#blur)"/>
<text x="450" y="220" font-size="40">blurred box</text>
</svg>
"""


def print_svg_deck(tmp_path, pictures: dict[str, str]) -> list:
    """A deck of one slide per SVG picture {title: SVG text}, printed: its PDF pages."""
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    slides = []
    for k, (title, svg) in enumerate(pictures.items()):
        (src / "images" / f"{k}.svg").write_text(svg, encoding="utf-8")
        slides.append(f"## {title}\n\n![](images/{k}.svg)\n")
    (src / "svg.md").write_text("\n---\n\n".join(slides), encoding="utf-8")
    manifest = src / "svg.yml"
    manifest.write_text("title: Svg\ncontent:\n- svg.md\n", encoding="utf-8")
    out = tmp_path / "dist"
    assert main([str(manifest), "--out", str(out)]) == 0
    return PdfReader(str(out / "svg.pdf")).pages


def test_svg_pictures_with_filters_print_as_drawn_pictures(tmp_path):
    plain_svg = (FILTERED_SVG.replace(' filter="url(#blur)"', "")
                 .replace('<defs><filter id="blur"><feGaussianBlur stdDeviation="6"/></filter></defs>', ""))
    filtered, plain = print_svg_deck(tmp_path, {"Filtered": FILTERED_SVG, "Plain": plain_svg})
    # the filtered SVG is a picture (its text is pixels now); the plain one stays vector text
    assert "blurred box" not in filtered.extract_text() and len(filtered.images) == 1
    assert "blurred box" in plain.extract_text()
    assert len(list((tmp_path / "cache" / "pdf-pictures").glob("*.jpg"))) == 1


def test_launch_arguments_keep_playwrights_disabled_features(chromium):
    """Chromium keeps only the last --disable-features: ours must repeat Playwright's own list
    (read from its driver; if a new Playwright moves it, this fails instead of a silent change)."""
    from labdeck.browser import QUIET_FEATURES, _playwright_disabled_features, launch, launch_args
    theirs = _playwright_disabled_features()
    assert theirs and "PaintHolding" in theirs
    flags = [a for a in launch_args(["--no-sandbox"]) if a.startswith("--disable-features=")]
    assert len(flags) == 1 and set(flags[0].split("=", 1)[1].split(",")) == {*theirs, *QUIET_FEATURES}

    def other_targets():
        with launch() as browser:          # no address-bar popup page started for a new context
            context = browser.new_context()
            context.new_page().goto("about:blank")
            targets = browser.new_browser_cdp_session().send("Target.getTargets")["targetInfos"]
            context.close()
            return [t["url"] for t in targets if t["type"] != "page"]
    assert run_isolated(other_targets) == []     # a thread of its own: see above


def test_a_filtered_svg_chromium_cannot_draw_prints_as_it_is(tmp_path):
    broken, nobox = print_svg_deck(tmp_path, {
        "Broken": '<svg xmlns="http://www.w3.org/2000/svg"><filter id="f"><oops></svg>',
        "No box": FILTERED_SVG.replace(' viewBox="0 0 800 450"', "")})
    assert "Broken" in broken.extract_text() and len(nobox.images) == 1
    [picture] = (tmp_path / "cache" / "pdf-pictures").glob("*.jpg")       # the one that could be drawn
    assert picture.read_bytes()[:3] == b"\xff\xd8\xff"
