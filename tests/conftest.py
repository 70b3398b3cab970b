"""Shared browser fixtures: one headless Chromium per test session, and a
watcher that records console errors, page errors and requests leaving a folder."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from labdeck.browser import ChromiumNotFound, chromium_path, launch


@pytest.fixture(scope="module")
def chromium():
    """Skip the module's tests, with the reason, where no Chromium can be found."""
    try:
        return chromium_path()
    except ChromiumNotFound as e:
        pytest.skip(f"no Chromium to drive: {e}")


@pytest.fixture(scope="session")
def browser():
    try:
        chromium_path()
    except ChromiumNotFound as e:
        pytest.skip(f"no Chromium to drive: {e}")
    with launch() as b:
        yield b


class Watch:
    """Everything a context's pages say or fetch that a clean offline deck must not."""

    def __init__(self, context, folder: Path):
        self.folder = Path(folder).resolve()
        self.errors: list[str] = []      # console errors and uncaught page errors
        self.outside: list[str] = []     # requested URLs outside `folder`
        context.on("console", self._console)
        context.on("weberror", lambda e: self.errors.append(f"pageerror: {e.error}"))
        context.on("request", self._request)

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text}")

    def _request(self, request) -> None:
        url = request.url
        if url.startswith(("data:", "blob:", "about:")):
            return
        parsed = urlparse(url)
        if parsed.scheme == "file":
            path = Path(unquote(parsed.path)).resolve()
            if path == self.folder or self.folder in path.parents:
                return
        self.outside.append(url)


@pytest.fixture
def watch():
    """`watch(context, folder)` starts recording on a browser context."""
    return Watch
