"""--fetch-remote and --single-file: decks that need no network and no folder.

A local HTTP server on a free port plays the remote site (tests never use the
internet); the built decks are opened in real Chromium from file://."""
from __future__ import annotations

import json
import shutil
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from labdeck.build import build

def _png(width: int, height: int) -> bytes:
    """A real PNG (grey pixels), `width` wide: its naturalWidth says it decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\0" + b"\x80\x80\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = _png(2, 1)


class _Site:
    def __init__(self):
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append(self.path)
                if self.path.split("?")[0].endswith(".png"):
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Content-Length", str(len(PNG)))
                    self.end_headers()
                    self.wfile.write(PNG)
                else:
                    self.send_error(404)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def site():
    s = _Site()
    yield s
    s.stop()


def deck(tmp_path: Path, url: str) -> Path:
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    (src / "images" / "local.png").write_bytes(PNG)
    (src / "interstitials.txt").write_text(f"{url}/between.png\n", encoding="utf-8")
    (src / "a.md").write_text(
        f"# A chapter\n\n## Pictures\n\n![from the site]({url}/far.png)\n\n![from here](images/local.png)\n\n---\n\n"
        f"background-image: url({url}/backdrop.png?size=big&v=2)\n\n## A backdrop\n\n---\n\n## Last\n\n"
        "- [first](#1)\n\n???\n\nSay goodbye.\n", encoding="utf-8")
    manifest = src / "offline.yml"
    manifest.write_text("title: Offline deck\ncontent:\n- a.md\n", encoding="utf-8")
    return manifest


def messages(result) -> list[str]:
    return [str(d) for d in result.diagnostics.items]


def open_page(browser, html: Path, watch):
    context = browser.new_context()
    w = watch(context, html.parent)
    page = context.new_page()
    page.goto(html.as_uri(), wait_until="load")
    page.wait_for_function("window.slideshow")
    page.evaluate("""() => Promise.all(Array.from(document.images).map(img => {
        img.loading = 'eager';
        return img.complete ? null : new Promise(r => { img.onload = img.onerror = r; });
    }))""")
    return context, page, w


def decoded(page) -> list[int]:
    return page.evaluate("Array.from(document.querySelectorAll('.remark-slide-container img'))"
                         ".map(i => i.naturalWidth)")


def test_without_the_flag_remote_pictures_stay_remote_with_a_warning(tmp_path, site):
    manifest = deck(tmp_path, site.url)
    result = build([manifest], tmp_path / "dist", quiet=True, cache_dir=tmp_path / "cache")
    assert result.ok
    remote = [m for m in messages(result) if "remote image stays remote" in m]
    assert len(remote) == 3, messages(result)
    # the picture slide's warning points at interstitials.txt
    assert any(m.startswith(str(manifest.parent / "interstitials.txt") + ":1: warning:")
               or m.startswith("interstitials.txt:1: warning:") for m in remote), remote
    assert site.requests == []
    assert f"{site.url}/far.png" in (tmp_path / "dist" / "offline.html").read_text()


def test_fetch_remote_ships_the_pictures_once(tmp_path, site, browser, watch):
    manifest = deck(tmp_path, site.url)
    out = tmp_path / "dist"
    result = build([manifest], out, quiet=True, cache_dir=tmp_path / "cache", fetch_remote=True)
    assert result.ok and not [m for m in messages(result) if "remote" in m], messages(result)
    assert sorted(site.requests) == ["/backdrop.png?size=big&v=2", "/between.png", "/far.png"]
    page_text = (out / "offline.html").read_text()
    assert site.url not in page_text
    assert len(list((out / "remote").iterdir())) == 3
    context, page, w = open_page(browser, out / "offline.html", watch)
    try:
        assert decoded(page) and all(width == 2 for width in decoded(page))
        # the backdrop slide shows its (shipped) background
        backdrop = page.evaluate("getComputedStyle(document.querySelectorAll('.remark-slide-content')[3])"
                                 ".backgroundImage")
        assert "remote/" in backdrop and site.url not in backdrop
        assert w.outside == [] and w.errors == []
    finally:
        context.close()
    # once: a second build, into another folder, with the site gone, needs no network
    site.stop()
    again = build([manifest], tmp_path / "dist2", quiet=True, cache_dir=tmp_path / "cache", fetch_remote=True,
                  force=True)
    assert again.ok and not [m for m in messages(again) if "remote" in m], messages(again)
    assert len(list((tmp_path / "dist2" / "remote").iterdir())) == 3


def test_a_picture_that_cannot_be_fetched_stays_remote_with_the_reason(tmp_path, site):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.md").write_text(f"## Gone\n\n![missing]({site.url}/missing.jpg)\n", encoding="utf-8")
    (src / "gone.yml").write_text("title: Gone\ncontent:\n- a.md\n", encoding="utf-8")
    result = build([src / "gone.yml"], tmp_path / "dist", quiet=True, cache_dir=tmp_path / "cache",
                   fetch_remote=True)
    assert result.ok
    [warning] = [m for m in messages(result) if "remote" in m]
    assert warning.startswith("a.md:1: warning: remote image stays remote: ") and "--fetch-remote failed" in warning


def test_single_file_deck_works_alone_in_chromium(tmp_path, site, browser, watch):
    manifest = deck(tmp_path, site.url)
    out = tmp_path / "dist"
    result = build([manifest], out, quiet=True, cache_dir=tmp_path / "cache", fetch_remote=True, single_file=True)
    assert result.ok, messages(result)
    # mailed alone: nothing else next to it
    alone = tmp_path / "mailbox"
    alone.mkdir()
    shutil.copy(out / "single" / "offline.html", alone / "offline.html")
    text = (alone / "offline.html").read_text()
    assert 'href="assets/' not in text and 'src="assets/' not in text and 'src="images/' not in text
    context, page, w = open_page(browser, alone / "offline.html", watch)
    try:
        count = page.evaluate("slideshow.getSlideCount()")
        assert count == result.decks["offline"].slides[-1].number
        widths = decoded(page)
        assert len(widths) == 3 and all(width == 2 for width in widths)    # interstitial, remote, local
        # the theme is there: slides are laid out as in the normal deck
        assert page.evaluate("getComputedStyle(document.querySelector('.remark-slide-container')).position") \
            == "absolute"
        page.keyboard.press("End")
        assert page.evaluate("slideshow.getCurrentSlideIndex()") == count - 1
        page.locator(".remark-visible a[href='#1']").click()
        page.wait_for_function("slideshow.getCurrentSlideIndex() === 0")
        assert w.outside == [] and w.errors == []
        assert page.evaluate("performance.getEntriesByType('resource').filter(r => !r.name.startsWith('data:'))"
                             ".map(r => r.name)") == []
    finally:
        context.close()


def test_single_file_deck_passes_the_browser_check(tmp_path, site):
    """`check`'s own walk over every slide of the single file, as over the normal output."""
    from labdeck.browser import run_isolated
    from labdeck.check import check_deck_timed
    manifest = deck(tmp_path, site.url)
    out = tmp_path / "dist"
    assert build([manifest], out, quiet=True, cache_dir=tmp_path / "cache", fetch_remote=True,
                 single_file=True).ok
    shutil.copy(out / "build.json", out / "single" / "build.json")   # what check reads: the deck's slide list
    result, _ = run_isolated(check_deck_timed, out / "single", "offline")
    assert result.slides == json.loads((out / "build.json").read_text())["decks"]["offline"]["slides"] == 5
    assert [str(f) for f in result.findings] == []
