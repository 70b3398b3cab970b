"""Shared browser fixtures: one headless Chromium per test session, and a
watcher that records console errors, page errors and requests leaving a folder."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from labdeck.browser import ChromiumNotFound, chromium_path, launch


def pytest_configure(config):
    """Hypothesis keeps its files (examples, caches) in a temporary folder, not in the checkout."""
    import tempfile
    from hypothesis.configuration import set_hypothesis_home_dir
    config._labdeck_hypothesis = tempfile.mkdtemp(prefix="labdeck-hypothesis-")
    set_hypothesis_home_dir(config._labdeck_hypothesis)


def pytest_unconfigure(config):
    import shutil
    shutil.rmtree(getattr(config, "_labdeck_hypothesis", ""), ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def cache_outside_the_checkout(tmp_path_factory):
    """Builds that use the default cache folder (and the commands the tests
    start) keep it in a temporary folder: tests never write into the checkout."""
    previous = os.environ.get("LABDECK_CACHE")
    os.environ["LABDECK_CACHE"] = str(tmp_path_factory.mktemp("labdeck-cache"))
    yield
    if previous is None:
        os.environ.pop("LABDECK_CACHE", None)
    else:
        os.environ["LABDECK_CACHE"] = previous


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With LABDECK_REQUIRE_CORPUS=1 (.ci/run sets it when ../shared/corpus is
    there), a corpus test that skips fails instead: a silent skip would hide a
    broken test."""
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or os.environ.get("LABDECK_REQUIRE_CORPUS") != "1":
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if "corpus" in item.nodeid.lower() or "corpus" in reason.lower():
        report.outcome = "failed"
        report.longrepr = f"corpus test skipped although the corpus is present: {reason}"
