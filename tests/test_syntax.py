"""remark's syntax and markmaker's generation, one test per rule.

Markdown → HTML rules (lists, code, macros, links...) are fixture files in
tests/fixtures/markdown/, run by test_markdown_rules.py; here are the rules
that need a whole build: splitting, properties, generation, files, build.json.

Every test writes a small manifest and chapters (our own words) in tmp_path,
builds them with the real builder (labdeck.build.build, a cache in tmp_path)
and reads what was written: the deck page, build.json, dist/.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path


from labdeck.build import build

ROOT = Path(__file__).resolve().parent.parent

# A 1x1 PNG, to have real image files to copy.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@dataclass
class Built:
    result: object
    out: Path
    src: Path
    manifest: Path

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def data(self) -> dict:
        return json.loads((self.out / "build.json").read_text(encoding="utf-8"))["decks"][self.manifest.stem]

    @property
    def page(self) -> str:
        return (self.out / f"{self.manifest.stem}.html").read_text(encoding="utf-8")

    @property
    def slides(self) -> list[dict]:
        return containers(self.page)

    @property
    def messages(self) -> list[str]:
        return [str(d) for d in self.result.diagnostics.items]


def write(folder: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def make(tmp_path: Path, files: dict[str, str | bytes], manifest: str, stem: str = "deck", **options) -> Built:
    """Write `files` under tmp_path/src/slides (the manifest's folder) and build."""
    src = tmp_path / "src" / "slides"
    write(src, files)
    path = src / f"{stem}.yml"
    path.write_text(manifest, encoding="utf-8")
    out = tmp_path / "dist"
    result = build([path], out, quiet=True, cache_dir=tmp_path / "cache", **options)
    return Built(result, out, src, path)


def one_chapter(tmp_path: Path, text: str, extra: str = "", **options) -> Built:
    return make(tmp_path, {"a.md": text}, f"title: Syntax test\n{extra}content:\n- a.md\n", **options)


_CONTAINER = re.compile(r'<div class="remark-slide-container"(.*?)>(.*?)(?=<div class="remark-slide-container"|'
                        r'</div>\s*<script id="labdeck-deck")', re.S)


def containers(page: str) -> list[dict]:
    """The slides of a built page, as the DOM contract (docs/deck-html.md) describes them."""
    slides = []
    for m in _CONTAINER.finditer(page):
        attrs, body = m.group(1), m.group(2)
        name = re.search(r'data-name="([^"]*)"', attrs)
        content = re.search(r'<div class="remark-slide-content([^"]*)"(?: style="([^"]*)")?>', body)
        number = re.search(r'<div class="remark-slide-number">(.*?)</div>', body)
        notes = re.search(r'<template class="remark-slide-notes">(.*?)</template>', body, re.S)
        inner = body[content.end():number.start()] if content and number else body
        slides.append({
            "name": name.group(1) if name else None,
            "classes": content.group(1).split() if content else [],
            "style": content.group(2) if content else None,
            "number": number.group(1) if number else None,
            "notes": notes.group(1) if notes else None,
            "html": inner,
            "source": re.search(r'data-source="([^"]*)"', attrs).group(1),
        })
    return slides


def texts(built: Built) -> list[str]:
    """Each slide's text with tags removed, whitespace squeezed."""
    return [" ".join(re.sub(r"<[^>]+>", " ", s["html"]).split()) for s in built.slides]


# ---- separators -----------------------------------------------------------

def test_three_dashes_alone_separate_slides(tmp_path):
    b = one_chapter(tmp_path, "## First\n\n---\n\n## Second\n\n----\n\nstill second\n\n--- not alone\n\n---\n## Third\n")
    assert b.ok, b.messages
    assert texts(b) == ["First", "Second still second --- not alone", "Third"]
    assert b.data["slides"] == 3


def test_two_dashes_start_an_incremental_step(tmp_path):
    b = one_chapter(tmp_path, "## Steps\n\n- one\n\n--\n\n- two\n\n--\n\n- three\n\n---\n\n## Next\n")
    assert b.ok, b.messages
    assert texts(b) == ["Steps one", "Steps one two", "Steps one two three", "Next"]
    assert [s["step"] for s in b.data["slide_list"]] == [0, 1, 2, 0]


def test_separators_do_not_count_inside_fenced_code(tmp_path):
    b = one_chapter(tmp_path, "## Fences\n\n```yaml\na: 1\n---\nb: 2\n--\n???\n```\n\n"
                              "~~~\nfirst\n---\nsecond\n~~~\n\n---\n\n## After\n")
    assert b.ok, b.messages
    assert b.data["slides"] == 2
    code = b.slides[0]["html"]
    assert code.count("<pre><code") == 2
    assert "???" in code and "second" in code
    assert b.slides[0]["notes"] is None


def test_separators_do_not_count_inside_macro_blocks(tmp_path):
    b = one_chapter(tmp_path, "## Box\n\n.box[\nabove\n\n---\n\nbelow\n\n--\n\nlast\n]\n\n---\n\n## After\n")
    assert b.ok, b.messages
    assert b.data["slides"] == 2
    assert re.search(r'<div class="box">.*above.*below.*last.*</div>', b.slides[0]["html"], re.S)


def test_separators_do_not_count_inside_inline_code(tmp_path):
    b = one_chapter(tmp_path, "## Spans\n\nsee `a\n---\nb` here\n\n---\n\n## After\n")
    assert b.ok, b.messages
    assert b.data["slides"] == 2


def test_separators_do_not_count_inside_indented_code(tmp_path):
    b = one_chapter(tmp_path, "## Indented\n\nSome text:\n\n    --\n    ---\n    ???\n\nafter the code\n\n---\n\n## Next\n")
    assert b.ok, b.messages
    assert b.data["slides"] == 2
    first = b.slides[0]
    assert '<pre><code class="remark-code">' in first["html"]
    assert "---" in first["html"] and "???" in first["html"]
    assert "after the code" in first["html"]
    assert first["notes"] is None


# ---- slide properties -------------------------------------------------------

def test_class_property_splits_on_commas(tmp_path):
    b = one_chapter(tmp_path, "class: wide, dark,small\n\n## Classes\n")
    assert b.ok, b.messages
    assert b.slides[0]["classes"] == ["wide", "dark", "small"]
    assert b.data["slide_list"][0]["classes"] == ["wide", "dark", "small"]


def test_name_property_becomes_data_name(tmp_path):
    b = one_chapter(tmp_path, "## First\n\n[jump](#target-slide)\n\n---\n\nname: target-slide\n\n## Target\n")
    assert b.ok, b.messages
    assert [s["name"] for s in b.slides] == [None, "target-slide"]
    assert 'href="#target-slide"' in b.slides[0]["html"]
    assert "name:" not in b.slides[1]["html"]


def test_layout_true_is_a_template_not_shown(tmp_path):
    b = one_chapter(tmp_path, "layout: true\nclass: framed\n\n.corner[LOGO]\n\n---\n\n## One\n\n---\n\nclass: extra\n\n## Two\n")
    assert b.ok, b.messages
    assert b.data["slides"] == 2
    assert texts(b) == ["LOGO One", "LOGO Two"]
    assert b.slides[0]["classes"] == ["framed"]
    assert b.slides[1]["classes"] == ["framed", "extra"]


def test_template_property_inherits_a_named_slide(tmp_path):
    b = one_chapter(tmp_path, "name: base\nclass: fancy\n\n.banner[BANNER]\n\n---\n\n## Plain\n\n---\n\n"
                              "template: base\n\n## Derived\n")
    assert b.ok, b.messages
    assert texts(b) == ["BANNER", "Plain", "BANNER Derived"]
    assert b.slides[2]["classes"] == ["fancy"]
    assert b.slides[2]["name"] is None      # the name is not inherited


def test_exclude_true_removes_the_slide(tmp_path):
    b = one_chapter(tmp_path, "## Kept\n\n---\n\nexclude: true\n\n## Dropped\n\n---\n\n## Also kept\n")
    assert b.ok, b.messages
    assert texts(b) == ["Kept", "Also kept"]


def test_count_false_is_shown_but_not_numbered(tmp_path):
    b = one_chapter(tmp_path, "## One\n\n---\n\ncount: false\n\n## Uncounted\n\n---\n\n## Two\n")
    assert b.ok, b.messages
    assert b.data["slides"] == 3
    assert [s["number"] for s in b.slides] == ["1/2", "1/2", "2/2"]


def test_background_image_property_styles_the_slide_and_copies_the_image(tmp_path):
    b = make(tmp_path, {"a.md": "background-image: url(images/back.png)\n\n## Backdrop\n", "images/back.png": PNG},
             "title: Bg\ncontent:\n- a.md\n")
    assert b.ok, b.messages
    assert "background-image: url(images/back.png)" in b.slides[0]["style"]
    assert (b.out / "images" / "back.png").read_bytes() == PNG


def test_unknown_property_warns_and_fails_only_when_strict(tmp_path):
    text = "## Fine\n\n---\n\ncolour: blue\n\n## Odd property\n"
    b = one_chapter(tmp_path / "lenient", text)
    assert b.ok
    assert any(re.fullmatch(r"a\.md:5: warning: .*colour.*", m) for m in b.messages), b.messages
    strict = one_chapter(tmp_path / "strict", text, strict=True)
    assert not strict.ok
    assert not (strict.out / "deck.html").exists()


# ---- notes, macros, code -----------------------------------------------------

def test_notes_go_in_a_template_element(tmp_path):
    b = one_chapter(tmp_path, "## Visible\n\n???\n\nOnly for the *speaker*.\n\n---\n\n## No notes\n")
    assert b.ok, b.messages
    first, second = b.slides
    assert "speaker" not in first["html"]
    assert "Only for the <em>speaker</em>." in first["notes"]
    assert second["notes"] is None






def test_escaped_macro_does_not_split_the_slide(tmp_path):
    # remark: nothing inside an escaped `\.name[...]` splits the slide (its HTML: tests/fixtures/markdown/macros.md)
    b = one_chapter(tmp_path, "## Escaped\n\n\\.box[\n--\n]\n")
    assert b.ok, b.messages
    assert len(b.slides) == 1
    assert 'class="box"' not in b.slides[0]["html"]












def test_scale_macro_is_an_image_in_its_paragraph_and_literal_in_code(tmp_path):
    b = make(tmp_path, {"a.md": "## Scaled\n\n![:scale 40%](images/dot.png)\n\n```\n![:scale 10%](x.png)\n```\n",
                        "images/dot.png": PNG}, "title: Scale\ncontent:\n- a.md\n")
    assert b.ok, b.messages
    html = b.slides[0]["html"]
    assert re.search(r'<p><img [^>]*src="images/dot.png" style="width: 40%" ?/?></p>', html)
    assert "![:scale 10%](x.png)" in html
    assert (b.out / "images" / "dot.png").is_file()


def test_fenced_code_is_highlighted_at_build_time(tmp_path):
    b = one_chapter(tmp_path, "## Code\n\n```bash\necho hello | grep h\nls -l /tmp\n```\n")
    assert b.ok, b.messages
    html = b.slides[0]["html"]
    m = re.search(r'<pre><code class="remark-code bash">(.*?)</code></pre>', html, re.S)
    assert m
    assert m.group(1).count('<div class="remark-code-line">') == 2
    assert '<span class="nb">echo</span>' in m.group(1)      # Pygments: echo is a shell builtin
    # highlighted by the build: styled by pygments.css, no highlighter shipped to the browser
    assert '<link rel="stylesheet" href="assets/pygments.css">' in b.page
    assert ".remark-code .nb" in (b.out / "assets" / "pygments.css").read_text(encoding="utf-8")
    assert "hljs" not in b.page and "hljs" not in (b.out / "assets" / "deck.js").read_text(encoding="utf-8")


def test_backticks_inside_code_highlight_a_span(tmp_path):
    b = one_chapter(tmp_path, "## Spans\n\n```bash\nkubectl get `pods`\n```\n")
    assert b.ok, b.messages
    code = re.search(r"<pre><code[^>]*>(.*?)</code></pre>", b.slides[0]["html"], re.S).group(1)
    assert re.search(r'<span class="remark-code-span-highlighted">(?:<span[^>]*>)?pods(?:</span>)?</span>', code)
    assert "`" not in code


def test_backtick_span_needs_a_character_before_it_as_in_remark(tmp_path):
    # remark's /([^`])`([^`]+?)`/ per line: none at the start of a line, \` keeps the backticks
    b = one_chapter(tmp_path, "## Spans\n\n```\n`first` word\nsay `this` and \\`that` too\n```\n")
    assert b.ok, b.messages
    lines = re.findall(r'<div class="remark-code-line">(.*?)</div>', b.slides[0]["html"])
    assert lines == ["`first` word",
                     'say <span class="remark-code-span-highlighted">this</span> and `that` too']


def test_reference_links_are_deck_wide(tmp_path):
    b = make(tmp_path, {"a.md": "## Defines\n\nText.\n\n[manual]: https://example.org/manual\n",
                        "b.md": "## Uses\n\nRead [the manual][manual].\n"},
             "title: Links\ncontent:\n- a.md\n- b.md\n")
    assert b.ok, b.messages
    assert '<a href="https://example.org/manual">the manual</a>' in b.slides[1]["html"]


TWICE = {"a.md": "## A\n\n[ref]: https://example.org/one\n",
         "b.md": "## B\n\nsee [x][ref]\n\n[ref]: https://example.org/two\n"}


def test_link_label_defined_twice_differently_warns_with_both_places(tmp_path):
    b = make(tmp_path, TWICE, "title: Links\ncontent:\n- a.md\n- b.md\n")
    assert b.ok
    warnings = [m for m in b.messages if ": warning: " in m and "ref" in m]
    assert len(warnings) == 1, b.messages
    assert re.match(r"b\.md:\d+: warning: ", warnings[0])
    assert re.search(r"\ba\.md:\d+", warnings[0])
    strict = make(tmp_path / "strict", TWICE, "title: Links\ncontent:\n- a.md\n- b.md\n", strict=True)
    assert not strict.ok
    same = make(tmp_path / "same", {"a.md": TWICE["a.md"], "b.md": "## B\n\n[ref]: https://example.org/one\n"},
                "title: Links\ncontent:\n- a.md\n- b.md\n", strict=True)
    assert same.ok, same.messages         # the same target twice is no conflict


def test_link_label_warning_points_at_the_definition_lines(tmp_path):
    b = make(tmp_path, TWICE, "title: Links\ncontent:\n- a.md\n- b.md\n")
    warnings = [m for m in b.messages if ": warning: " in m and "ref" in m]
    assert warnings[0].startswith("b.md:5: warning: ")
    assert "a.md:3" in warnings[0]




def test_manifest_values_are_escaped_in_the_page(tmp_path):
    b = make(tmp_path / "t", {"a.md": "## Hi\n"}, 'title: "Tags <script>alert(1)</script> & co"\ncontent:\n- a.md\n')
    assert b.ok, b.messages
    assert "<title>Tags &lt;script&gt;alert(1)&lt;/script&gt; &amp; co</title>" in b.page
    assert "<script>alert(1)" not in b.page


# ---- exclusion ----------------------------------------------------------------

EXCLUDED = ("## Kept\n\n---\n\nclass: extra-details\n\n## Deep dive\n\n--\n\nmore depth\n\n---\n\n"
            "## Kept too\n\n--\n\nits step\n")


def test_deck_exclude_classes_remove_slides_with_their_steps(tmp_path):
    b = one_chapter(tmp_path, EXCLUDED, extra="exclude:\n- extra-details\n")
    assert b.ok, b.messages
    assert texts(b) == ["Kept", "Kept too", "Kept too its step"]
    assert b.data["exclude"] == ["extra-details"]


def test_exclude_option_removes_slides_too(tmp_path):
    b = one_chapter(tmp_path / "api", EXCLUDED, exclude=["extra-details"])
    assert b.ok, b.messages
    assert texts(b) == ["Kept", "Kept too", "Kept too its step"]
    # and from the command line
    src = tmp_path / "cli"
    write(src, {"a.md": EXCLUDED, "deck.yml": "title: X\ncontent:\n- a.md\n"})
    env = dict(os.environ, LABDECK_CACHE=str(tmp_path / "cli-cache"))
    proc = subprocess.run([sys.executable, str(ROOT / "build.py"), "deck.yml", "--out", "out",
                           "--exclude", "extra-details"], cwd=src, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((src / "out" / "build.json").read_text(encoding="utf-8"))
    assert data["decks"]["deck"]["slides"] == 3
    without = one_chapter(tmp_path / "none", EXCLUDED)
    assert without.data["slides"] == 5


# ---- markmaker generation -----------------------------------------------------

def test_at_at_strings_are_replaced(tmp_path):
    manifest = ("title: |\n  First line\n  Second line\nchat: \"[the chat](https://chat.example.org/)\"\n"
                "gitrepo: git.example.org/team/repo\nslides: https://slides.example.org/\ncontent:\n- a.md\n")
    b = make(tmp_path, {"a.md": "class: title\n\n@@TITLE@@\n\n---\n\n## Where\n\n- chat: @@CHAT@@\n- repo: @@GITREPO@@\n"
                                "- slides: @@SLIDES@@\n- zip: @@ZIP@@\n- page: @@HTML@@\n"}, manifest)
    assert b.ok, b.messages
    assert "First line<br/>Second line" in b.slides[0]["html"]
    where = b.slides[1]["html"]
    assert '<a href="https://chat.example.org/">the chat</a>' in where
    assert "repo: git.example.org/team/repo" in where
    # bare URLs are links, as marked's GFM rule makes them in remark
    assert 'slides: <a href="https://slides.example.org/">https://slides.example.org/</a>' in where
    assert 'zip: <a href="https://slides.example.org/slides.zip">https://slides.example.org/slides.zip</a>' in where
    assert "page: deck.html" in where
    assert "@@" not in b.page


INCLUDED = "## Included slide\n\nfrom the shared folder\n\n---\n\n## Second included\n"


def test_link_and_include_are_relative_to_the_parent_of_the_source_folder(tmp_path):
    write(tmp_path / "src", {"prereqs/setup.sh": "#!/bin/sh\necho ready\n", "shared/common.md": INCLUDED})
    b = make(tmp_path, {"a.md": "## Links\n\nGet @@LINK[prereqs/setup.sh].\n\n---\n\n@@INCLUDE[shared/common.md]\n"},
             "title: Inc\ncontent:\n- a.md\n")
    assert b.ok, b.messages
    assert '<a href="files/prereqs/setup.sh">prereqs/setup.sh</a>' in b.slides[0]["html"]
    assert (b.out / "files" / "prereqs" / "setup.sh").read_text() == "#!/bin/sh\necho ready\n"
    assert "from the shared folder" in b.slides[1]["html"]
    assert "Second included" in b.slides[2]["html"]


def test_include_resolves_above_the_source_folder_when_built_from_inside_it(tmp_path):
    # container.training authors build from slides/: the source root is then "."
    write(tmp_path / "src", {"prereqs/setup.sh": "#!/bin/sh\n", "shared/common.md": INCLUDED,
                             "slides/a.md": "## Links\n\n@@LINK[prereqs/setup.sh]\n\n---\n\n@@INCLUDE[shared/common.md]\n",
                             "slides/deck.yml": "title: Inc\ncontent:\n- a.md\n"})
    env = dict(os.environ, LABDECK_CACHE=str(tmp_path / "cli-cache"))
    proc = subprocess.run([sys.executable, str(ROOT / "build.py"), "deck.yml", "--out", "out"],
                          cwd=tmp_path / "src" / "slides", env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "src" / "slides" / "out" / "deck.html").read_text(encoding="utf-8")
    assert "from the shared folder" in page
    assert (tmp_path / "src" / "slides" / "out" / "files" / "prereqs" / "setup.sh").is_file()


def test_included_slides_point_at_the_included_file_lines(tmp_path):
    write(tmp_path / "src", {"shared/common.md": INCLUDED})
    b = make(tmp_path, {"a.md": "## Before\n\n---\n\n@@INCLUDE[shared/common.md]\n\n---\n\n## After\n"},
             "title: Inc\ncontent:\n- a.md\n")
    assert b.ok, b.messages
    lines = [(s["source"], s["line"]) for s in b.data["slide_list"]]
    assert lines[2] == ("shared/common.md", 7)
    assert lines[3] == ("a.md", 9)


def test_link_escaping_the_source_parent_is_an_error(tmp_path):
    (tmp_path / "secret.txt").write_text("no")
    b = one_chapter(tmp_path, "## Bad\n\n@@LINK[../secret.txt]\n")
    assert not b.ok
    assert any(re.fullmatch(r"a\.md:3: error: .*", m) for m in b.messages), b.messages


def test_toc_single_part_is_a_table_of_contents(tmp_path):
    b = make(tmp_path, {"toc.md": "## Plan\n\n---\n\n@@TOC@@\n",
                        "a.md": "# Alpha topic\n\nbody\n\n---\n\n# Beta topic\n\nmore\n"},
             "title: Toc\ncontent:\n- toc.md\n- a.md\n")
    assert b.ok, b.messages
    toc = [s for s in b.slides if s["name"] == "toc-part-1"]
    assert len(toc) == 1
    assert "<h2>Table of contents</h2>" in toc[0]["html"]
    links = re.findall(r'<a href="(#[^"]*)">([^<]*)</a>', toc[0]["html"])
    assert links == [("#toc-alpha-topic", "Alpha topic"), ("#toc-beta-topic", "Beta topic")]


def test_toc_one_slide_per_part(tmp_path):
    b = make(tmp_path, {"toc.md": "@@TOC@@\n", "a.md": "# Alpha\n", "b.md": "# Bravo\n\n---\n\n# Charlie\n",
                        "c.md": "# Delta\n"},
             "title: Toc\ncontent:\n- toc.md\n- a.md\n- - b.md\n  - c.md\n")
    assert b.ok, b.messages
    part1, part2 = [s for s in b.slides if (s["name"] or "").startswith("toc-part-")]
    assert part1["name"] == "toc-part-1" and "<h2>Part 1</h2>" in part1["html"]
    assert part2["name"] == "toc-part-2" and "<h2>Part 2</h2>" in part2["html"]
    assert re.findall(r'href="#([^"]*)"', part1["html"]) == ["toc-alpha"]
    assert re.findall(r'href="#([^"]*)"', part2["html"]) == ["toc-bravo", "toc-charlie", "toc-delta"]


def test_toc_anchor_keeps_lowercase_ascii_letters_and_dashes(tmp_path):
    b = one_chapter(tmp_path, "# Hello, World: 2 Pods & Ünits\n\ntext\n")
    assert b.ok, b.messages
    assert "toc-hello-world--pods--nits" in [s["name"] for s in b.slides]


def test_title_gets_a_pic_slide_and_a_title_slide_before_it(tmp_path):
    b = make(tmp_path, {"toc.md": "@@TOC@@\n",
                        "a.md": "## Opening\n\n---\n\n## Lead-in\n\n--\n\n# First Title\n\n---\n\n# Second Title\n"},
             "title: Titles\ncontent:\n- toc.md\n- a.md\n")
    assert b.ok, b.messages
    names = [s["name"] for s in b.slides]
    classes = [s["classes"] for s in b.slides]
    # toc, Opening, title, Lead-in, Lead-in + title, title, Second Title
    # (no interstitials.txt: no picture slides, see test_interstitial_images_rotate)
    assert names == ["toc-part-1", None, "toc-first-title", None, None, "toc-second-title", None]
    assert classes[2] == ["title"] and classes[5] == ["title"]
    assert not any(c == ["pic"] for c in classes)
    first_nav = re.findall(r'href="#([^"]*)"', b.slides[2]["html"])
    assert first_nav == ["toc-part-1", "toc-part-1", "toc-second-title"]
    second_nav = re.findall(r'href="#([^"]*)"', b.slides[5]["html"])
    assert second_nav == ["toc-first-title", "toc-part-1", "toc-part-1"]
    assert "First Title" in b.slides[2]["html"]


def test_interstitial_images_rotate(tmp_path):
    b = make(tmp_path, {"interstitials.txt": "images/one.png\nimages/two.png\n",
                        "images/one.png": PNG, "images/two.png": PNG + b"\0",
                        "a.md": "# One\n\n---\n\n# Two\n\n---\n\n# Three\n"},
             "title: Pics\ncontent:\n- a.md\n")
    assert b.ok, b.messages
    pics = [s for s in b.slides if s["classes"] == ["pic"]]
    srcs = [re.search(r'<img\b[^>]*\bsrc="([^"]*)"', s["html"]).group(1) for s in pics]
    assert srcs == ["images/one.png", "images/two.png", "images/one.png"]
    assert (b.out / "images" / "two.png").read_bytes() == PNG + b"\0"


def test_parts_are_top_level_items_holding_a_title(tmp_path):
    b = make(tmp_path, {"intro.md": "## No title here\n", "a.md": "# Part A\n", "b.md": "# Part B\n",
                        "c.md": "## Still part B\n", "end.md": "## The end\n"},
             "title: Parts\ncontent:\n- intro.md\n- a.md\n- - b.md\n  - c.md\n- end.md\n")
    assert b.ok, b.messages
    parts = b.data["parts"]
    chapters = b.data["chapters"]
    assert [p["number"] for p in parts] == [1, 2]
    assert [[chapters[i]["source"] for i in p["chapters"]] for p in parts] == [["a.md"], ["b.md", "c.md"]]


# ---- build.json ---------------------------------------------------------------

LINES = """\
class: first

## One

---


name: second

## Two

--

More of two

???

notes

---
## Three
"""


def test_build_json_describes_the_deck(tmp_path):
    b = make(tmp_path, {"a.md": LINES, "b.md": "# Titled\n"},
             "title: Json deck\ncontent:\n- a.md\n- |\n  ## Inline\n\n  fragment\n- b.md\n")
    assert b.ok, b.messages
    d = b.data
    assert d["manifest"].endswith("deck.yml")
    assert d["html"] == "deck.html"
    assert d["title"] == "Json deck"
    assert d["slides"] == len(d["slide_list"]) == 7      # no interstitials.txt: no picture slide
    assert [c["source"] for c in d["chapters"]][0] == "a.md"
    assert d["chapters"][2]["source"] == "b.md" and d["chapters"][2]["title"] == "Titled"
    assert d["parts"] == [{"number": 1, "chapters": [2]}]
    own = [(s["source"], s["line"], s["name"]) for s in d["slide_list"]]
    assert own[:4] == [("a.md", 1, None), ("a.md", 8, "second"), ("a.md", 14, None), ("a.md", 21, None)]
    assert own[4][0].endswith("deck.yml") and own[4][1] == 5
    assert own[6] == ("b.md", 1, None)
    assert [s["source"] for s in b.slides][:4] == ["a.md:1", "a.md:8", "a.md:14", "a.md:21"]


def test_slide_numbers_use_the_prefix(tmp_path):
    b = one_chapter(tmp_path, "## A\n\n---\n\n## B\n", extra='slidenumberprefix: "#tag &mdash; "\n')
    assert b.ok, b.messages
    assert [s["number"] for s in b.slides] == ["#tag &mdash; 1/2", "#tag &mdash; 2/2"]


# ---- index pages, zip, images, warm build ----------------------------------------

def test_index_page_per_language(tmp_path):
    b = make(tmp_path, {"a.md": "# Translated\n\n???\n\n:EN:- Something\n:FR:- Quelque chose\n",
                        "b.md": "# English only\n\n???\n\n:EN:- Another thing\n"},
             "title: Langs\ncontent:\n- a.md\n- b.md\n")
    assert b.ok, b.messages
    en = (b.out / "index.html").read_text(encoding="utf-8")
    fr = (b.out / "fr" / "index.html").read_text(encoding="utf-8")
    assert "Another thing" in en and "Something" in en
    assert "Quelque chose" in fr
    items = re.findall(r'<li class="chapter( untranslated)?">\s*<a href="([^"]*)">([^<]*)</a>', fr)
    assert [(bool(u), t) for u, _, t in items] == [(False, "Translated"), (True, "English only")]
    assert all(h.startswith("../deck.html#") for _, h, _ in items)
    assert 'href="../index.html"' in fr


def test_no_language_folder_without_topics(tmp_path):
    b = one_chapter(tmp_path, "# Only English\n\n???\n\n:EN:- a topic\n")
    assert b.ok, b.messages
    assert (b.out / "index.html").is_file()
    assert not (b.out / "fr").exists()


def test_zip_option_writes_slides_zip(tmp_path):
    b = make(tmp_path, {"a.md": "## Pic\n\n![a dot](images/dot.png)\n", "images/dot.png": PNG},
             "title: Zip\ncontent:\n- a.md\n", make_zip=True)
    assert b.ok, b.messages
    with zipfile.ZipFile(b.out / "slides.zip") as z:
        names = set(z.namelist())
        assert {"slides/deck.html", "slides/assets/deck.js", "slides/assets/deck.css",
                "slides/images/dot.png", "slides/index.html", "slides/build.json"} <= names
        assert z.read("slides/deck.html") == (b.out / "deck.html").read_bytes()
    plain = make(tmp_path / "nozip", {"a.md": "## x\n"}, "title: Zip\ncontent:\n- a.md\n")
    assert not (plain.out / "slides.zip").exists()


def test_zip_option_writes_slides_zip_when_every_deck_is_unchanged(tmp_path):
    b = make(tmp_path, {"a.md": "## Built once\n"}, "title: Zip\ncontent:\n- a.md\n")
    assert b.ok and not (b.out / "slides.zip").exists()
    again = build([b.manifest], b.out, quiet=True, cache_dir=tmp_path / "cache", make_zip=True)
    assert again.ok and again.unchanged == [b.manifest]
    with zipfile.ZipFile(b.out / "slides.zip") as z:
        assert z.read("slides/deck.html") == (b.out / "deck.html").read_bytes()


def test_local_images_are_copied_and_links_are_relative(tmp_path):
    b = make(tmp_path, {"a.md": '## Pics\n\n![dot](images/dot.png)\n\n<img src="images/sub/raw.png" alt="x">\n',
                        "images/dot.png": PNG, "images/sub/raw.png": PNG},
             "title: Pics\ncontent:\n- a.md\n")
    assert b.ok, b.messages
    assert (b.out / "images" / "dot.png").read_bytes() == PNG
    assert (b.out / "images" / "sub" / "raw.png").read_bytes() == PNG
    for page in [b.page, (b.out / "index.html").read_text(encoding="utf-8")]:
        refs = re.findall(r'(?:src|href)="([^"]*)"', page)
        assert refs
        for ref in refs:
            assert not ref.startswith(("/", "file:")), ref
            if not ref.startswith(("#", "http:", "https:", "data:")):   # data: is no request
                assert (b.out / ref.split("#")[0]).exists(), ref
        assert str(tmp_path) not in page


def test_warm_build_rebuilds_nothing_and_a_touched_chapter_rebuilds_its_deck(tmp_path):
    src = tmp_path / "src"
    write(src, {"a.md": "## A\n", "b.md": "## B\n",
                "one.yml": "title: One\ncontent:\n- a.md\n", "two.yml": "title: Two\ncontent:\n- b.md\n"})
    manifests = [src / "one.yml", src / "two.yml"]
    out, cache = tmp_path / "dist", tmp_path / "cache"
    first = build(manifests, out, quiet=True, cache_dir=cache)
    assert first.ok and sorted(first.decks) == ["one", "two"]
    again = build(manifests, out, quiet=True, cache_dir=cache)
    assert again.ok
    assert again.decks == {} and again.written == []
    assert sorted(again.unchanged) == sorted(manifests)
    (src / "a.md").write_text("## A changed\n", encoding="utf-8")
    st = (src / "a.md").stat()
    os.utime(src / "a.md", ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    touched = build(manifests, out, quiet=True, cache_dir=cache)
    assert sorted(touched.decks) == ["one"]
    assert touched.unchanged == [src / "two.yml"]
    assert "A changed" in (out / "one.html").read_text(encoding="utf-8")
    data = json.loads((out / "build.json").read_text(encoding="utf-8"))
    assert sorted(data["decks"]) == ["one", "two"]


def test_rendered_html_cache_is_dropped_when_the_renderer_changes(tmp_path, monkeypatch):
    import pickle
    from labdeck import cache as cache_module
    src = tmp_path / "src"
    write(src, {"a.md": "## Kept text\n", "one.yml": "title: One\ncontent:\n- a.md\n"})
    out, cache = tmp_path / "dist", tmp_path / "cache"
    assert build([src / "one.yml"], out, quiet=True, cache_dir=cache).ok
    [store] = cache.glob("rendered*.pickle")
    poisoned = {k: "<p>stale rendering</p>" for k in pickle.loads(store.read_bytes())}
    store.write_bytes(pickle.dumps(poisoned))
    # each build has its own memo tables (memo.Caches): only the on-disk store carries over
    # same renderer: the store is trusted (this is what makes rebuilds fast)
    assert build([src / "one.yml"], out, quiet=True, cache_dir=cache, force=True).ok
    assert "stale rendering" in (out / "one.html").read_text(encoding="utf-8")
    # another renderer (labdeck or a library upgraded): its HTML is not reused
    monkeypatch.setattr(cache_module, "renderer_signature", lambda: "another")
    assert build([src / "one.yml"], out, quiet=True, cache_dir=cache, force=True).ok
    page = (out / "one.html").read_text(encoding="utf-8")
    assert "stale rendering" not in page and "Kept text" in page
    assert [p.name for p in cache.glob("rendered*.pickle")] == ["rendered-another.pickle"]


def test_links_to_markmaker_page_names_follow_our_names(tmp_path):
    # markmaker wrote `<manifest>.yml.html`; labdeck writes `<stem>.html`
    b = make(tmp_path, {"a.md": "## Links\n\n[other deck](other.yml.html#toc-x) and [elsewhere](nothere.yml.html)\n",
                        "other.yml": "title: Other\ncontent:\n- a.md\n"},
             "title: Links\ncontent:\n- a.md\n")
    assert b.ok, b.messages
    html = b.slides[0]["html"]
    assert 'href="other.html#toc-x"' in html
    assert 'href="nothere.yml.html"' in html          # no such manifest: left as written


def test_toc_slides_have_the_toc_class(tmp_path):
    b = make(tmp_path, {"toc.md": "@@TOC@@\n", "a.md": "# Alpha\n"}, "title: Toc\ncontent:\n- toc.md\n- a.md\n")
    assert b.ok, b.messages
    toc = [s for s in b.slides if s["name"] == "toc-part-1"]
    assert toc and toc[0]["classes"] == ["toc"]


def test_index_lists_every_title_of_a_chapter_file(tmp_path):
    b = make(tmp_path, {"a.md": "# First part of the file\n\nx\n\n---\n\n# Second part of the file\n\n???\n\n:EN:- both\n"},
             "title: Two titles\ncontent:\n- a.md\n")
    assert b.ok, b.messages
    index = (b.out / "index.html").read_text()
    assert 'href="deck.html#toc-first-part-of-the-file"' in index
    assert 'href="deck.html#toc-second-part-of-the-file"' in index
