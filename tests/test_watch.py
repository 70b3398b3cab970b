"""`build.py --watch --serve`: real watchdog, real files, real dev server and
real Chromium. The sample decks are copied to tmp_path and edited there."""
from __future__ import annotations

import json

import io
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from labdeck.overrides import BUILTIN
from labdeck.serve.server import DevServer
from labdeck.serve.watch import Watcher

ROOT = Path(__file__).resolve().parent.parent
WAIT = 30            # seconds: generous limits, only so a broken build cannot hang the run


class Running:
    """A Watcher (and optionally a DevServer) running in a thread; always stopped."""

    def __init__(self, manifests, out, serve=False):
        self.stream = io.StringIO()
        self.server = DevServer(out, "127.0.0.1", 0).start() if serve else None
        self.watcher = Watcher(manifests, out, server=self.server, stream=self.stream)
        self.watcher.start()
        self.thread = threading.Thread(target=self.watcher.run, daemon=True)
        self.thread.start()

    def builds(self) -> int:
        return self.watcher.builds

    def wait_build(self, count: int) -> dict:
        """Wait until `count` builds have finished; the last one's record."""
        w = self.watcher
        with w.rebuilt:
            assert w.rebuilt.wait_for(lambda: w.builds >= count, WAIT), \
                f"no build #{count} (log: {self.stream.getvalue()})"
            return dict(w.last)

    def stop(self):
        self.watcher.stop()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        if self.server:
            self.server.stop()


@pytest.fixture
def decks(tmp_path):
    """Both sample decks, copied: slides/k8s-services.yml and slides/shell-basics.yml."""
    shutil.copytree(ROOT / "slides", tmp_path / "slides")
    return tmp_path / "slides"


@pytest.fixture
def running(decks, tmp_path):
    made = []

    def start(*names, serve=False):
        r = Running([decks / n for n in names], tmp_path / "dist", serve)
        made.append(r)
        return r
    yield start
    for r in made:
        r.stop()


def save_like_an_editor(path: Path, text: str) -> None:
    """Vim-style save: a probe file, a swap file, write to a temporary name, rename over."""
    (path.parent / "4913").write_text("")
    (path.parent / "4913").unlink()
    swap = path.parent / f".{path.name}.swp"
    swap.write_text("swap")
    tmp = path.parent / f".{path.name}.tmp"
    tmp.write_text(text)
    os.replace(tmp, path)
    swap.unlink()


def test_a_chapter_edit_rebuilds_only_the_decks_that_use_it(decks, running, tmp_path):
    r = running("k8s-services.yml", "shell-basics.yml")
    first = r.wait_build(1)
    assert first["ok"]
    k8s_before = (tmp_path / "dist" / "k8s-services.html").read_text()
    chapter = decks / "shell-basics" / "files.md"
    chapter.write_text(chapter.read_text() + "\n---\n\n## A slide added while watching\n")
    last = r.wait_build(2)
    assert [Path(m).name for m in last["manifests"]] == ["shell-basics.yml"]
    assert "shell-basics.html" in last["reload"] and "k8s-services.html" not in last["reload"]
    assert "A slide added while watching" in (tmp_path / "dist" / "shell-basics.html").read_text()
    assert (tmp_path / "dist" / "k8s-services.html").read_text() == k8s_before


def test_an_editor_save_burst_gives_one_rebuild(decks, running):
    r = running("k8s-services.yml", "shell-basics.yml")
    r.wait_build(1)
    chapter = decks / "k8s-services" / "dns.md"
    text = chapter.read_text()
    save_like_an_editor(chapter, text + "\nfirst save\n")
    save_like_an_editor(chapter, text + "\nsecond save\n")
    r.wait_build(2)
    # a later edit elsewhere is build #3 only if the burst above gave exactly one build
    other = decks / "shell-basics" / "title.md"
    other.write_text(other.read_text() + "\n")
    last = r.wait_build(3)
    assert [Path(m).name for m in last["manifests"]] == ["shell-basics.yml"]
    assert r.builds() == 3


def test_an_image_change_rebuilds_the_deck_that_shows_it(decks, running):
    r = running("k8s-services.yml", "shell-basics.yml")
    r.wait_build(1)
    image = decks / "images" / "service-routing.svg"
    image.write_text(image.read_text().replace("</svg>", "<!-- edited --></svg>"))
    last = r.wait_build(2)
    assert [Path(m).name for m in last["manifests"]] == ["k8s-services.yml"]
    assert "images/service-routing.svg" in last["changed"]
    assert "k8s-services.html" in last["reload"]


def test_a_new_interstitials_list_rebuilds_the_decks_beside_it(decks, running, tmp_path):
    # the sample folder has no interstitials.txt: nothing depends on it yet
    r = running("k8s-services.yml")
    r.wait_build(1)
    slides = lambda: json.loads((tmp_path / "dist" / "build.json").read_text())["decks"]["k8s-services"]["slides"]  # noqa: E731
    before = slides()
    (decks / "interstitials.txt").write_text("images/service-routing.svg\n")
    last = r.wait_build(2)
    assert [Path(m).name for m in last["manifests"]] == ["k8s-services.yml"]
    assert "k8s-services.html" in last["reload"]
    assert slides() > before          # a picture slide before each chapter title


def test_a_template_change_rebuilds_every_deck(decks, running):
    r = running("k8s-services.yml", "shell-basics.yml")
    r.wait_build(1)
    # decided without touching the real templates folder
    todo = r.watcher.affected([(str(BUILTIN / "deck.html.j2"), False)])
    assert sorted(p.name for p in todo) == ["k8s-services.yml", "shell-basics.yml"]


def test_a_new_manifest_in_the_folder_is_built(decks, running, tmp_path):
    r = running("shell-basics.yml")
    r.wait_build(1)
    (decks / "extra.yml").write_text("title: Extra\ncontent:\n- shell-basics/title.md\n")
    last = r.wait_build(2)
    assert [Path(m).name for m in last["manifests"]] == ["extra.yml"]
    assert (tmp_path / "dist" / "extra.html").is_file()


def test_a_deleted_chapter_is_an_error_and_the_last_output_stays(decks, running, tmp_path):
    r = running("shell-basics.yml")
    r.wait_build(1)
    html = (tmp_path / "dist" / "shell-basics.html").read_text()
    (decks / "shell-basics" / "webserver.md").unlink()
    last = r.wait_build(2)
    assert not last["ok"]
    log = r.stream.getvalue()
    assert "webserver.md" in log and ": error: " in log and "Traceback" not in log
    assert (tmp_path / "dist" / "shell-basics.html").read_text() == html
    # putting it back builds again
    shutil.copy(ROOT / "slides" / "shell-basics" / "webserver.md", decks / "shell-basics" / "webserver.md")
    assert r.wait_build(3)["ok"]


# ---- live reload in real Chromium ----

def open_deck(browser, server, page_name: str, hash_: str):
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + page_name + hash_)
    page.wait_for_function("window.labdeckLiveReload && window.labdeckLiveReload.handled >= 1",
                           timeout=WAIT * 1000)
    page.evaluate("window.__notReloaded = true")
    return context, page


def test_the_open_deck_reloads_on_the_same_slide_with_the_new_text(browser, decks, running):
    r = running("k8s-services.yml", "shell-basics.yml", serve=True)
    r.wait_build(1)
    context, page = open_deck(browser, r.server, "k8s-services.html", "#first-service")
    try:
        before = page.evaluate("slideshow.getCurrentSlideIndex()")
        # a new slide before it: the named slide moves one down and is found by name
        chapter = decks / "k8s-services" / "clusterip.md"
        text = chapter.read_text().replace(
            "name: first-service\n", "## Inserted while presenting\n\n---\n\nname: first-service\n")
        text = text.replace("## Creating our first Service", "## Creating our first Service, edited live")
        chapter.write_text(text)
        page.wait_for_function("!window.__notReloaded && window.slideshow", timeout=WAIT * 1000)
        assert page.evaluate("slideshow.getCurrentSlideIndex()") == before + 1
        assert "edited live" in page.inner_text(".remark-visible")
        assert page.url.endswith("#first-service")
    finally:
        context.close()


def test_an_unnamed_slide_stays_on_its_number(browser, decks, running):
    r = running("k8s-services.yml", serve=True)
    r.wait_build(1)
    data = json.loads((r.watcher.out / "build.json").read_text())["decks"]["k8s-services"]["slide_list"]
    n = next(s["number"] for s in data if s["number"] > 2 and not s["name"])   # an unnamed slide
    context, page = open_deck(browser, r.server, "k8s-services.html", f"#{n}")
    try:
        assert page.evaluate("slideshow.getCurrentSlideIndex()") == n - 1
        chapter = decks / "k8s-services" / "dns.md"
        chapter.write_text(chapter.read_text() + "\nA line added at the end.\n")
        page.wait_for_function("!window.__notReloaded && window.slideshow", timeout=WAIT * 1000)
        assert page.evaluate("slideshow.getCurrentSlideIndex()") == n - 1
        assert page.url.endswith(f"#{n}")
    finally:
        context.close()


def test_a_chapter_no_open_deck_uses_reloads_nothing(browser, decks, running):
    r = running("k8s-services.yml", "shell-basics.yml", serve=True)
    r.wait_build(1)
    context, page = open_deck(browser, r.server, "k8s-services.html", "#3")
    try:
        chapter = decks / "shell-basics" / "files.md"
        chapter.write_text(chapter.read_text() + "\nNot in the open deck.\n")
        assert "shell-basics.html" in r.wait_build(2)["reload"]
        # the page handled that build event (a second event after the connect state) and stayed
        page.wait_for_function("window.labdeckLiveReload.handled >= 2", timeout=WAIT * 1000)
        assert page.evaluate("window.__notReloaded") is True
    finally:
        context.close()


def test_a_broken_chapter_shows_the_overlay_and_the_fix_clears_it(browser, decks, running, tmp_path):
    r = running("k8s-services.yml", serve=True)
    r.wait_build(1)
    context, page = open_deck(browser, r.server, "k8s-services.html", "#2")
    try:
        chapter = decks / "k8s-services" / "dns.md"
        good = chapter.read_text()
        chapter.write_text(good + "\n---\n\n@@INCLUDE[absent-file.md]\n")      # no deck without it
        overlay = page.locator("#labdeck-overlay")
        overlay.wait_for(state="visible", timeout=WAIT * 1000)
        text = overlay.inner_text()
        assert "k8s-services/dns.md:" in text and ": error: " in text and "absent-file.md" in text
        assert page.evaluate("window.__notReloaded") is True      # the last good deck stays shown
        assert "livereload" not in (tmp_path / "dist" / "k8s-services.html").read_text()
        chapter.write_text(good)
        overlay.wait_for(state="hidden", timeout=WAIT * 1000)
    finally:
        context.close()


def test_a_page_opened_while_the_build_is_broken_shows_the_overlay(browser, decks, running):
    r = running("k8s-services.yml", serve=True)
    r.wait_build(1)
    chapter = decks / "k8s-services" / "dns.md"
    chapter.write_text(chapter.read_text() + "\n---\n\n@@INCLUDE[absent-file.md]\n")
    assert not r.wait_build(2)["ok"]
    context, page = open_deck(browser, r.server, "k8s-services.html", "")
    try:
        assert page.locator("#labdeck-overlay").is_visible()
    finally:
        context.close()


# ---- the command line ----

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_watch_serve_stops_cleanly_on_a_signal(decks, tmp_path, sig):
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), str(decks / "shell-basics.yml"), "--watch", "--serve",
         "--port", "0", "--out", str(tmp_path / "dist")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        for line in proc.stdout:
            if line.startswith("serving "):
                assert "http://127.0.0.1:" in line
                break
        else:
            pytest.fail("no 'serving' line: " + proc.stderr.read())
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == 0, err
        assert "stopped" in out and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_decks_already_up_to_date_are_still_watched(decks, running, tmp_path):
    first = running("shell-basics.yml")
    first.wait_build(1)
    first.stop()
    # a second watch over the same output: the build skips the deck as up to date
    r = running("shell-basics.yml")
    assert r.wait_build(1)["ok"]
    assert not r.watcher.failed and not r.watcher.errors      # skipped is not failed
    chapter = decks / "shell-basics" / "processes.md"
    chapter.write_text(chapter.read_text() + "\nEdited after a restart.\n")
    last = r.wait_build(2)
    assert "shell-basics.html" in last["reload"]
    assert "Edited after a restart." in (tmp_path / "dist" / "shell-basics.html").read_text()


def test_presenter_and_clone_windows_follow_the_reload(browser, decks, running):
    r = running("k8s-services.yml", serve=True)
    r.wait_build(1)
    context, page = open_deck(browser, r.server, "k8s-services.html", "#first-service")
    try:
        with context.expect_page() as opened:
            page.keyboard.press("c")
        clone = opened.value
        clone.wait_for_function("window.labdeckLiveReload && window.labdeckLiveReload.handled >= 1",
                                timeout=WAIT * 1000)
        clone.evaluate("window.__notReloaded = true")
        page.keyboard.press("p")
        assert page.evaluate("slideshow.isPresenterMode()")
        chapter = decks / "k8s-services" / "clusterip.md"
        chapter.write_text(chapter.read_text().replace(
            "## Creating our first Service", "## Creating our first Service, seen by both windows"))
        for p in (page, clone):
            p.wait_for_function("!window.__notReloaded && window.slideshow", timeout=WAIT * 1000)
            assert "seen by both windows" in p.text_content(".remark-visible")
            assert p.url.endswith("#first-service")
        assert page.evaluate("slideshow.isPresenterMode()")
        assert clone.evaluate("slideshow.isClone()")
        # after both reloaded, the clone still follows the main window
        index = page.evaluate("slideshow.getCurrentSlideIndex()")
        page.keyboard.press("ArrowRight")
        clone.wait_for_function(f"slideshow.getCurrentSlideIndex() === {index + 1}", timeout=WAIT * 1000)
    finally:
        context.close()


def test_the_index_page_reloads_when_a_deck_title_changes(browser, decks, running):
    r = running("k8s-services.yml", "shell-basics.yml", serve=True)
    r.wait_build(1)
    context, page = open_deck(browser, r.server, "", "")
    try:
        manifest = decks / "shell-basics.yml"
        manifest.write_text(manifest.read_text().replace("Shell basics", "Shell basics, retitled", 1))
        assert "build.json" in r.wait_build(2)["changed"]
        page.wait_for_function("!window.__notReloaded", timeout=WAIT * 1000)
        assert "retitled" in page.text_content("body")
    finally:
        context.close()


def test_a_port_out_of_range_is_one_error_line(decks, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), str(decks / "shell-basics.yml"), "--watch", "--serve",
         "--port", "70000", "--out", str(tmp_path / "dist")],
        capture_output=True, text=True, cwd=tmp_path, timeout=WAIT)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "build.py: error: cannot serve on 127.0.0.1:70000: bind(): port must be 0-65535."]


# ---- watch mode survives anything (issue 11) ----

def small_project(tmp_path: Path) -> Path:
    slides = tmp_path / "slides"
    slides.mkdir()
    (slides / "deck.yml").write_text("title: Small\ncontent:\n- a.md\n")
    (slides / "a.md").write_text("## First\n\n[zip](@@ZIP@@)\n\n---\n\n## Second\n")
    return slides


def set_out_blocked(out: Path) -> None:
    (out / "deck.html").unlink()
    (out / "deck.html").mkdir()           # a folder where the page goes: it cannot be replaced
    (out / "deck.html" / "keep").write_text("")


BREAKERS = {
    "placeholder characters": ("a.md", "## First\n\n\ue00007\ue001 and \ue0000\ue001 .x[y]\n", True),
    "a manifest value of the wrong type": ("deck.yml", "title: Small\nzip: [a]\ncontent:\n- a.md\n", False),
    ".name[ nested 2,000 deep": ("a.md", ".a[" * 2000 + "x" + "]" * 2000 + "\n", False),
    "a recursive YAML alias": ("deck.yml", "title: Small\ncontent: &c\n- a.md\n- *c\n", False),
    "an output file that cannot be replaced": ("a.md", "## First, edited\n", False),
}


@pytest.mark.parametrize("case", sorted(BREAKERS))
def test_watch_and_serve_survive(tmp_path, case):
    """Each of these once killed the session: now a failed rebuild is reported in
    one located line, the server keeps serving the last good page, and the next
    good edit is built."""
    import urllib.request
    slides = small_project(tmp_path)
    out = tmp_path / "dist"
    r = Running([slides / "deck.yml"], out, serve=True)
    try:
        assert r.wait_build(1)["ok"]
        good = (out / "deck.html").read_bytes()
        name, text, builds_ok = BREAKERS[case]
        if case == "an output file that cannot be replaced":
            set_out_blocked(out)
        (slides / name).write_text(text)
        last = r.wait_build(2)
        log = r.stream.getvalue()
        assert "Traceback" not in log
        assert r.thread.is_alive()
        if builds_ok:
            assert last["ok"], log
        else:
            assert not last["ok"]
            errors = [l for l in log.splitlines() if ": error: " in l]
            assert errors, log
        if case == "an output file that cannot be replaced":
            assert any(str(out / "deck.html") in l and "cannot write" in l for l in errors), log
            shutil.rmtree(out / "deck.html")
        else:
            with urllib.request.urlopen(r.server.url + "deck.html", timeout=10) as resp:
                assert resp.status == 200
                page = resp.read()
            if not builds_ok:
                assert page.replace(b'<script src="/__labdeck/livereload.js"></script>\n', b"") == good
        (slides / "deck.yml").write_text("title: Small\ncontent:\n- a.md\n")
        (slides / "a.md").write_text("## Fixed\n")
        deadline = r.builds() + 3
        while True:
            last = r.wait_build(r.builds() + 1)
            if last["ok"] or r.builds() >= deadline:
                break
        assert last["ok"], r.stream.getvalue()
        assert b"Fixed" in (out / "deck.html").read_bytes()
    finally:
        r.stop()


def test_watch_keeps_the_single_file_deck_up_to_date(decks, tmp_path):
    """`--watch --single-file`: an edit reaches dist/single/<deck>.html too, not only the normal page."""
    out = tmp_path / "dist"
    stream = io.StringIO()
    watcher = Watcher([decks / "shell-basics.yml"], out, stream=stream, single_file=True)
    watcher.start()
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        with watcher.rebuilt:
            assert watcher.rebuilt.wait_for(lambda: watcher.builds >= 1, WAIT), stream.getvalue()
        single = out / "single" / "shell-basics.html"
        assert single.is_file() and "A slide added while watching" not in single.read_text()
        chapter = decks / "shell-basics" / "files.md"
        chapter.write_text(chapter.read_text() + "\n---\n\n## A slide added while watching\n")
        with watcher.rebuilt:
            assert watcher.rebuilt.wait_for(lambda: watcher.builds >= 2, WAIT), stream.getvalue()
        assert watcher.last["ok"], stream.getvalue()
        assert "A slide added while watching" in single.read_text()
        assert "A slide added while watching" in (out / "shell-basics.html").read_text()
    finally:
        watcher.stop()
        thread.join(WAIT)
