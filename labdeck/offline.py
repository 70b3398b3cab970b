"""Decks that need no network and no folder.

- `--fetch-remote`: remote pictures are downloaded once into the build cache
  (`<cache>/remote/`) and shipped in `dist/remote/`, the slides pointing at the copy.
- `--single-file`: `dist/single/<deck>.html`, one file holding the deck, its
  stylesheets, its player and its pictures (data: URLs), to mail or upload.
"""
from __future__ import annotations

import base64
import hashlib
import html as htmlmod
import mimetypes
import re
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from .write import write_atomic

FETCH_TIMEOUT = 20      # seconds per picture
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/svg+xml": ".svg",
               "image/webp": ".webp", "image/avif": ".avif"}


class RemoteFetcher:
    """url → (dist path, cached file): each URL downloaded once, ever (the cache keeps it)."""

    def __init__(self, cache: Path):
        self.folder = Path(cache) / "remote"
        self.failures: dict[str, str] = {}
        self._found: dict[str, tuple[str, Path] | None] = {}

    def __call__(self, url: str) -> tuple[str, Path] | None:
        if url not in self._found:
            self._found[url] = self._fetch(url)
        return self._found[url]

    def _fetch(self, url: str) -> tuple[str, Path] | None:
        key = hashlib.sha256(url.encode()).hexdigest()[:20]
        for cached in self.folder.glob(f"{key}.*") if self.folder.is_dir() else ():
            if not cached.name.endswith(".tmp"):
                return f"remote/{cached.name}", cached
        full = "https:" + url if url.startswith("//") else url
        if urlparse(full).scheme not in ("http", "https"):
            self.failures[url] = "not an http(s) URL"
            return None
        try:
            request = urllib.request.Request(full, headers={"User-Agent": "labdeck (--fetch-remote)"})
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
                data = response.read()
                kind = (response.headers.get_content_type() or "").lower()
        except (urllib.error.URLError, OSError, ValueError) as e:
            self.failures[url] = str(getattr(e, "reason", None) or e)
            return None
        suffix = PurePosixPath(urlparse(full).path).suffix.lower()
        ext = _EXTENSIONS.get(kind) or (suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix or "") else ".bin")
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{key}{ext}"
        write_atomic(target, data)
        return f"remote/{target.name}", target


def point_at_copies(slide, copies: dict[str, str]) -> None:
    """Rewrite a slide's remote picture URLs (as written, or HTML-escaped) to their dist/ copies."""
    for url, rel in copies.items():
        for form in {url, htmlmod.escape(url, quote=True), url.replace("&", "&amp;")}:
            if form in slide.html:
                slide.html = slide.html.replace(form, rel)
        for key in ("background-image",):
            if url in slide.properties.get(key, ""):
                slide.properties = dict(slide.properties, **{key: slide.properties[key].replace(url, rel)})


# ---- one self-contained file per deck ----------------------------------------------------

_STYLESHEET = re.compile(r'<link\b[^>]*\brel="stylesheet"[^>]*\bhref="([^"]+)"[^>]*>', re.I)
_SCRIPT = re.compile(r'<script\b([^>]*)\bsrc="([^"]+)"([^>]*)>\s*</script>', re.I)
_SRC = re.compile(r'(<(?:img|source|video|audio|embed|input)\b[^>]*?\bsrc=")([^"]+)(")', re.I)
_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)", re.I)


def single_file(page: str, page_folder: Path) -> tuple[str, list[str]]:
    """The deck page with its stylesheets, scripts and local files inlined.
    Returns (page, what could not be inlined)."""
    missing: list[str] = []

    def read(base: Path, ref: str) -> Path | None:
        if _REMOTE.match(ref):
            return None
        path = base / unquote(htmlmod.unescape(ref).split("#")[0].split("?")[0])
        if path.is_file():
            return path
        missing.append(ref)
        return None

    def data_url(path: Path) -> str:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"data:{kind};base64," + base64.b64encode(path.read_bytes()).decode("ascii")

    def css_urls(css: str, base: Path) -> str:
        def one(m):
            path = read(base, m.group(2))
            return f'url("{data_url(path)}")' if path else m.group(0)
        return _URL.sub(one, css)

    def stylesheet(m):
        path = read(page_folder, m.group(1))
        if path is None:
            return m.group(0)
        css = css_urls(path.read_text(encoding="utf-8"), path.parent)
        return "<style>\n" + css.replace("</style", "<\\/style") + "\n</style>"

    def script(m):
        path = read(page_folder, m.group(2))
        if path is None:
            return m.group(0)
        js = path.read_text(encoding="utf-8").replace("</script", "<\\/script")
        return f"<script{m.group(1)}{m.group(3)}>\n{js}\n</script>"

    def src(m):
        path = read(page_folder, m.group(2))
        return m.group(1) + data_url(path) + m.group(3) if path else m.group(0)

    page = _STYLESHEET.sub(stylesheet, page)
    page = _SCRIPT.sub(script, page)
    page = _SRC.sub(src, page)
    # inline style="...url(...)" (slide backgrounds) and <style> blocks of the page itself
    page = re.sub(r'style="([^"]*url\([^"]*)"', lambda m: 'style="' + css_urls(
        htmlmod.unescape(m.group(1)), page_folder).replace('"', "&quot;") + '"', page)
    return page, list(dict.fromkeys(missing))
