"""Mermaid blocks become inline SVG at build time: real Chromium, real mermaid
from labdeck/node/node_modules (installed with `npm ci` if missing), real cache files."""
from __future__ import annotations

import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from labdeck import mermaid
from labdeck.browser import ChromiumNotFound, chromium_path
from labdeck.diagnostics import Diagnostics
from labdeck.mermaid import (Diagram, apply_mermaid, find_mermaid_blocks,
                             render_mermaid, replace_mermaid_blocks)
from labdeck.model import Position, Slide

from shared import CORPUS

FLOWCHART = 'flowchart LR\n  Build["labdeck build"] --> Deck["offline deck"]\n'
BROKEN = "flowchart TD\n  A --> B\n  B[[[ --> C\n"
NOWHERE = "/nonexistent/chromium"


@pytest.fixture(scope="module")
def mermaid_installed():
    if not (mermaid.MERMAID_DIR / mermaid.ENTRY).is_file():
        try:
            subprocess.run(["npm", "ci", "--prefix", str(mermaid.NODE), "--no-audit", "--no-fund"],
                           capture_output=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            pytest.skip(f"npm cannot install mermaid: {e}")
    if not (mermaid.MERMAID_DIR / mermaid.ENTRY).is_file():
        pytest.skip("npm could not install mermaid into labdeck/node/node_modules (run ./dev)")
    try:
        chromium_path()
    except ChromiumNotFound as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def cold(mermaid_installed, tmp_path_factory):
    """One cold render (one browser launch) of a good and a broken diagram."""
    cache = tmp_path_factory.mktemp("cache")
    diags = Diagnostics()
    svgs = render_mermaid([Diagram(FLOWCHART, "k8s/a.md", 10), Diagram(BROKEN, "k8s/b.md", 20)],
                          cache, diags)
    return cache, svgs, diags


def test_flowchart_renders_to_inline_svg(cold):
    _, svgs, _ = cold
    svg = svgs[FLOWCHART]
    assert svg.startswith("<svg")
    assert "labdeck build" in svg and "offline deck" in svg
    assert not re.search(r"""(?:src|href)=["']https?:""", svg)    # nothing fetched from the web


def test_broken_diagram_warns_at_its_position_and_is_left_out(cold):
    _, svgs, diags = cold
    assert BROKEN not in svgs
    [w] = diags.warnings
    assert str(w).startswith("k8s/b.md:20: warning: mermaid diagram not rendered: ")
    assert "line 3" in w.message


def test_warm_render_reads_cache_files_without_browser(cold, tmp_path):
    cache, svgs, _ = cold
    warm_cache = tmp_path / "cache"
    shutil.copytree(cache, warm_cache)
    [svg_file] = [f for f in (warm_cache / "mermaid").glob("*.svg")]
    assert svg_file.read_text() == svgs[FLOWCHART]
    svg_file.write_text("<svg id='from-cache'></svg>")    # proves the file is what we get back
    diags = Diagnostics()
    warm = render_mermaid([Diagram(FLOWCHART, "k8s/a.md", 10), Diagram(BROKEN, "k8s/b.md", 20)],
                          warm_cache, diags, browser_path=NOWHERE)
    assert warm == {FLOWCHART: "<svg id='from-cache'></svg>"}
    # the cached syntax error still warns on every build; no complaint about Chromium
    assert [str(w) for w in diags.warnings] == [str(w) for w in cold[2].warnings]


def test_cache_key_changes_with_source(cold):
    cache, _, _ = cold
    diags = Diagnostics()
    assert render_mermaid([Diagram(FLOWCHART + "  Deck --> Done\n", "a.md", 1)], cache, diags,
                          browser_path=NOWHERE) == {}
    [w] = diags.warnings
    assert w.message.startswith("1 mermaid diagram(s) left as text: ") and NOWHERE in w.message


def test_cache_key_changes_with_mermaid_version():
    # another mermaid lays diagrams out differently: its SVGs are never taken from the cache
    assert mermaid._key("11.17.2", FLOWCHART) != mermaid._key("12.3.0", FLOWCHART)
    assert mermaid._key("11.17.2", FLOWCHART) == mermaid._key("11.17.2", FLOWCHART)


def test_pinned_mermaid_is_the_major_version_the_reference_page_imports():
    """container.training's page imports `mermaid@N` (the newest N.x) from a CDN: its authors see
    that version's layouts (mermaid 11 lays flowcharts out with dagre, 12 with ELK by default)."""
    page = CORPUS.parent / "reference" / "workshop.html"
    if not page.is_file():
        pytest.skip(f"reference page not found at {page}")
    [major] = set(re.findall(r"/npm/mermaid@(\d+)", page.read_text(encoding="utf-8")))
    assert mermaid.MERMAID_VERSION.split(".")[0] == major
    installed = mermaid.mermaid_version()
    if installed is not None:       # a checkout's node_modules, when `npm ci` has run
        assert installed == mermaid.MERMAID_VERSION, "labdeck/node/node_modules is stale: run ./dev (npm ci)"


def test_missing_mermaid_package_warns_once_and_renders_nothing(tmp_path):
    diags = Diagnostics()
    out = render_mermaid([Diagram(FLOWCHART, "a.md", 3), Diagram(BROKEN, "b.md", 4)],
                         tmp_path / "cache", diags, mermaid_dir=tmp_path / "no-mermaid")
    assert out == {}
    [w] = diags.warnings
    assert str(w).startswith("a.md:3: warning: mermaid diagrams left as text:")
    assert "npm ci" in w.message


def test_missing_chromium_warns_once_and_renders_nothing(mermaid_installed, tmp_path):
    diags = Diagnostics()
    out = render_mermaid([Diagram(FLOWCHART, "a.md", 3), Diagram(BROKEN, "b.md", 4)],
                         tmp_path / "cache", diags, browser_path=NOWHERE)
    assert out == {}
    [w] = diags.warnings
    assert str(w).startswith("a.md:3: warning: 2 mermaid diagram(s) left as text: ")
    assert NOWHERE in w.message


def test_blocks_are_found_inside_wrappers_with_text_as_the_dom_reads_it():
    html = ('<p>x</p>\n<div class="pic">\n<pre class="mermaid">\n'
            'flowchart LR\n  A["a &amp; b"] --&gt; B\n  C &lt;--&gt; D\n</pre>\n</div>\n'
            "<pre class='big mermaid'>graph TD\nA-->B</pre>")
    assert find_mermaid_blocks(html) == [
        'flowchart LR\n  A["a & b"] --> B\n  C <--> D\n',
        "graph TD\nA-->B",
    ]


def test_mermaid_shown_as_code_is_not_a_diagram():
    html = ('<pre><code class="remark-code html">&lt;pre class="mermaid"&gt;A--&gt;B'
            '&lt;/pre&gt;</code></pre><pre class="not-mermaid">x</pre>')
    assert find_mermaid_blocks(html) == []
    assert replace_mermaid_blocks(html, {"A-->B": "<svg></svg>"}) == html


def test_unrendered_blocks_stay_as_text():
    html = '<div class="x"><pre class="mermaid">graph TD\nA-->B</pre></div>'
    assert replace_mermaid_blocks(html, {}) == html


def test_same_diagram_twice_in_a_page_gets_distinct_ids(cold):
    _, svgs, _ = cold
    block = f'<pre class="mermaid">\n{FLOWCHART}</pre>'
    page = (replace_mermaid_blocks(f"<div>{block}{block}</div>", svgs, scope="s1-")
            + replace_mermaid_blocks(block, svgs, scope="s2-"))
    assert page.count("<svg") == 3
    assert page.count('<pre class="mermaid" data-processed="true"><svg') == 3
    ids = re.findall(r'(?<![\w-])id="([^"]+)"', page)   # not data-id
    assert len(ids) > 3
    assert len(ids) == len(set(ids)), "duplicate ids across diagrams"
    # styles and marker references follow the renamed ids
    root_ids = re.findall(r'<svg id="([^"]+)"', page)
    for rid in root_ids:
        assert f"#{rid} " in page or f"#{rid}{{" in page
    assert "#" + root_ids[0].rsplit("-s1-", 1)[0] + "{" not in page
    # a second pass finds nothing left to do
    assert find_mermaid_blocks(page) == []


def test_apply_mermaid_renders_slides_in_place(cold):
    cache, svgs, _ = cold
    def slide(n, html):
        return Slide(number=n, pos=Position("k8s/a.md", 10 * n), name=None, classes=[],
                     properties={}, markdown="", notes="", html=html)
    slides = [slide(1, f'<pre class="mermaid">\n{FLOWCHART}</pre>'),
              slide(2, f'<pre class="mermaid">\n{FLOWCHART}</pre><pre class="mermaid">{BROKEN}</pre>'),
              slide(3, "<p>no diagram</p>")]
    diags = Diagnostics()
    assert apply_mermaid(slides, cache, diags, browser_path=NOWHERE) == 2
    assert "<svg" in slides[0].html and "<svg" in slides[1].html
    assert '<pre class="mermaid">flowchart TD' in slides[1].html      # broken one left as text
    assert slides[2].html == "<p>no diagram</p>"
    assert [str(w).split(": warning")[0] for w in diags.warnings] == ["k8s/a.md:20"]


def _corpus_diagrams() -> list[Diagram]:
    out = []
    for p in sorted(CORPUS.rglob("*.md")):
        text = p.read_text(encoding="utf-8")
        for m in re.finditer(r'<pre class="mermaid">.*?</pre>', text, re.S):
            line = text.count("\n", 0, m.start()) + 1
            for src in find_mermaid_blocks(m.group(0)):
                out.append(Diagram(src, str(p.relative_to(CORPUS)), line))
    return out


def test_corpus_diagrams_all_render(mermaid_installed, tmp_path):
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    diagrams = _corpus_diagrams()
    assert len(diagrams) >= 10
    diags = Diagnostics()
    svgs = render_mermaid(diagrams, tmp_path, diags)
    assert [str(w) for w in diags.items] == []
    assert all(svgs[d.source].startswith("<svg") for d in diagrams)


def test_broken_mermaid_bundle_warns_instead_of_crashing(mermaid_installed, tmp_path):
    fake = tmp_path / "mermaid"
    (fake / "dist").mkdir(parents=True)
    (fake / "package.json").write_text('{"version": "0.0.0-broken"}')
    (fake / "dist" / "mermaid.esm.min.mjs").write_text("this is not javascript (")
    diags = Diagnostics()
    assert render_mermaid([Diagram(FLOWCHART, "a.md", 3)], tmp_path / "cache", diags,
                          mermaid_dir=fake) == {}
    [w] = diags.warnings
    assert str(w).startswith("a.md:3: warning: 1 mermaid diagram(s) left as text: ")
    assert not (tmp_path / "cache" / "mermaid").exists() or not any((tmp_path / "cache" / "mermaid").iterdir())


def test_the_diagram_browser_starts_at_the_first_block_and_draws_while_the_build_goes_on(
        mermaid_installed, tmp_path):
    early = mermaid.EarlyDiagrams(tmp_path)
    early.feed("## No diagram here\n\nwords\n")
    assert not early.started
    chapter = f'## Flow\n\n<pre class="mermaid">\n{FLOWCHART}</pre>\n\n---\n\n<pre class="mermaid">\n{BROKEN}</pre>\n'
    early.feed(chapter)
    assert early.started                      # launched at once, before anything asks for the SVGs
    # the build then asks for what it found in the rendered slides: drawn by that same process
    diags = Diagnostics()
    slide = Slide(number=1, pos=Position("k8s/flow.md", 3), name=None, classes=[], properties={},
                  markdown="", notes="", html=f'<pre class="mermaid">\n{FLOWCHART}</pre>')
    broken = Slide(number=2, pos=Position("k8s/flow.md", 9), name=None, classes=[], properties={},
                   markdown="", notes="", html=f'<pre class="mermaid">\n{BROKEN}</pre>')
    assert apply_mermaid([slide, broken], tmp_path, diags, early=early) == 1
    assert "<svg" in slide.html and "labdeck build" in slide.html
    assert not early.started                  # collected: the process is gone
    assert [(d.path, d.line) for d in diags.warnings] == [("k8s/flow.md", 9)]    # the broken one
    # cached: a later build's feed starts nothing
    again = mermaid.EarlyDiagrams(tmp_path)
    again.feed(chapter)
    assert not again.started


def test_a_build_with_diagrams_draws_them_with_the_early_browser(mermaid_installed, tmp_path, monkeypatch):
    from labdeck.build import build
    (tmp_path / "deck.yml").write_text("title: Drawn\ncontent:\n- a.md\n")
    (tmp_path / "a.md").write_text(f'## Flow\n\n<pre class="mermaid">\n{FLOWCHART}</pre>\n')
    started = []
    real = mermaid.EarlyDiagrams._start

    def spy(self):
        launched = real(self)
        started.extend([True] if launched else [])
        return launched

    monkeypatch.setattr(mermaid.EarlyDiagrams, "_start", spy)
    result = build([tmp_path / "deck.yml"], tmp_path / "dist", cache_dir=tmp_path / "cache", quiet=True)
    assert result.ok
    assert started == [True]
    assert 'data-processed="true"><svg' in (tmp_path / "dist" / "deck.html").read_text()


def test_diagrams_drawn_in_one_browser_each_get_their_own_result(mermaid_installed, tmp_path):
    """Several diagrams drawn in one browser: each result belongs to its own source, a broken one
    between good ones takes nothing from its neighbours, and every one is answered."""
    labels = [f"Node{i}x" for i in range(7)]
    sources = {f"k{i}": f'flowchart LR\n  A["{label}"] --> B["end {i}"]\n' for i, label in enumerate(labels)}
    sources["k3"] = BROKEN
    results = mermaid._render_in_browser(sources, mermaid.MERMAID_DIR / mermaid.ENTRY, chromium_path())
    assert sorted(results) == sorted(sources)
    assert "error" in results["k3"] and "svg" not in results["k3"]
    for i, label in enumerate(labels):
        if i != 3:
            assert label in results[f"k{i}"]["svg"]
            assert not any(other in results[f"k{i}"]["svg"] for other in labels if other != label)


def test_diagrams_are_drawn_by_the_headless_shell_when_one_is_installed_and_no_browser_is_named(
        tmp_path, monkeypatch):
    from labdeck import browser
    shell, chromium = tmp_path / "chromium-headless-shell", tmp_path / "chromium"
    for exe in (shell, chromium):
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "no-playwright-browsers"))
    monkeypatch.delenv("LABDECK_CHROMIUM", raising=False)
    monkeypatch.setattr(browser, "SYSTEM_CHROMIUM", str(chromium))
    monkeypatch.setattr(browser, "SYSTEM_HEADLESS_SHELL", str(shell))
    assert browser.drawing_browser_path() == str(shell)
    assert browser.drawing_browser_path(str(chromium)) == str(chromium)        # --browser wins
    monkeypatch.setenv("LABDECK_CHROMIUM", str(chromium))
    assert browser.drawing_browser_path() == str(chromium)                      # so does the variable
    monkeypatch.delenv("LABDECK_CHROMIUM")
    shell.unlink()
    assert browser.drawing_browser_path() == str(chromium)                      # no shell: chromium draws
    with pytest.raises(ChromiumNotFound):
        browser.drawing_browser_path(str(tmp_path / "nowhere"))


def test_look_ahead_starts_the_browser_from_the_chapter_files_the_manifests_name(mermaid_installed, tmp_path):
    (tmp_path / "part").mkdir()
    (tmp_path / "deck.yml").write_text("title: Ahead\ncontent:\n- plain.md\n- - part/flow.md\n")
    (tmp_path / "plain.md").write_text("## Nothing to draw\n")
    (tmp_path / "part" / "flow.md").write_text(f'## Flow\n\n<pre class="mermaid">\n{FLOWCHART}</pre>\n')
    (tmp_path / "other.yml").write_text("title: No diagram\ncontent:\n- plain.md\n")
    quiet = mermaid.EarlyDiagrams(tmp_path / "cache")
    quiet.look_ahead([tmp_path / "other.yml", tmp_path / "missing.yml"])     # a bad manifest is the build's to report
    assert not quiet.started
    early = mermaid.EarlyDiagrams(tmp_path / "cache")
    threads = threading.active_count()
    early.look_ahead([tmp_path / "deck.yml"])
    assert early.started                      # before any parsing
    assert threading.active_count() == threads    # drawn in a process of its own: the build may still fork
    [key] = early.found
    assert early.found[key] == FLOWCHART
    result = early.results({key: FLOWCHART})
    assert "labdeck build" in result[key]["svg"]
    assert not early.started


def test_pages_assembled_while_diagrams_draw_are_the_pages_written_with_them_cached(mermaid_installed, tmp_path):
    """A cold build assembles the pages of decks with diagrams while the diagrams are drawn and
    puts the SVGs in afterwards: the same bytes as a build that found every SVG cached."""
    from labdeck.build import build
    other = 'flowchart TD\n  Parse --> Render\n'
    (tmp_path / "a.md").write_text(f'## One\n\n<pre class="mermaid">\n{FLOWCHART}</pre>\n\n---\n\nclass: center\n\n'
                                   f'## Two, the same again and another\n\n<pre class="mermaid">\n{FLOWCHART}</pre>\n'
                                   f'\n<pre class="mermaid">\n{other}</pre>\n\n---\n\n## Broken\n\n'
                                   f'<pre class="mermaid">\n{BROKEN}</pre>\n')
    (tmp_path / "b.md").write_text("## No diagram\n\nwords\n")
    (tmp_path / "deck.yml").write_text("title: Drawn\ncontent:\n- b.md\n- a.md\n- b.md\n")
    (tmp_path / "plain.yml").write_text("title: Plain\ncontent:\n- b.md\n")
    manifests = [tmp_path / "deck.yml", tmp_path / "plain.yml"]
    cold = build(manifests, tmp_path / "cold", cache_dir=tmp_path / "cache", quiet=True)
    warm = build(manifests, tmp_path / "warm", cache_dir=tmp_path / "cache", quiet=True)
    assert cold.ok and warm.ok
    page = (tmp_path / "cold" / "deck.html").read_text()
    assert page.count('data-processed="true"><svg') == 3
    assert page == (tmp_path / "warm" / "deck.html").read_text()
    assert (tmp_path / "cold" / "plain.html").read_bytes() == (tmp_path / "warm" / "plain.html").read_bytes()
    assert [str(w) for w in cold.diagnostics.warnings] == [str(w) for w in warm.diagnostics.warnings]


def test_new_slide_html_goes_where_the_old_was_or_nowhere():
    from labdeck import render
    slide = Slide(number=2, pos=Position("a.md", 1), name=None, classes=[], properties={},
                  markdown="", notes="", html="<p>new</p>")
    page = ('<div class="remark-slide-container" id="slide-1" x><div class="a">\n<p>old</p>\n</div>'
            '<div class="remark-slide-container" id="slide-2" x><div class="a">\n<p>old</p>\n</div>')
    assert render.with_new_slide_html(page, [(slide, "<p>old</p>")]) == page[:-17] + "<p>new</p>\n</div>"
    assert render.with_new_slide_html(page, [(slide, "<p>gone</p>")]) is None


def test_the_drawing_process_answers_then_closes_its_browser_alone(mermaid_installed, tmp_path):
    """results() returns once every diagram is answered, without waiting for the browser to
    close; the process then exits by itself. Node.js keeps the driver's compiled code in the cache."""
    drawing = mermaid.DrawingProcess({"k": FLOWCHART}, mermaid.MERMAID_DIR / mermaid.ENTRY, chromium_path(),
                                     tmp_path / "cache")
    results = drawing.results({"k": FLOWCHART, "b": BROKEN})
    assert "labdeck build" in results["k"]["svg"] and "error" in results["b"]
    drawing.close()                           # answered: not killed
    assert drawing.proc.wait(timeout=60) == 0
    from playwright._impl._driver import compute_driver_executable
    node = subprocess.run([compute_driver_executable()[0], "--version"], capture_output=True, text=True).stdout
    if tuple(int(n) for n in re.findall(r"\d+", node)[:2]) >= (22, 1):     # Node.js has a compile cache since 22.1
        assert any((tmp_path / "cache" / "node-compile-cache").rglob("*"))
