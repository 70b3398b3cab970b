"""Find and launch the Chromium that tests, checks, pdf and bench drive.

Playwright cannot download its own browser here, so we look for one in a
fixed order and launch it with flags that keep it offline and quiet.
"""
from __future__ import annotations

import functools
import glob
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

# No sandbox (we run as root in CI), no GPU, and nothing that phones home.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

SYSTEM_CHROMIUM = "/usr/bin/chromium"
SYSTEM_HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"     # Debian's chromium-headless-shell

# Chromium (the full browser since headless became it) loads the address bar's popup,
# a WebUI page in a renderer of its own, for every browser context: about 1 CPU-second
# each time, for a window nobody sees.
QUIET_FEATURES = ["WebUIOmniboxAimPopup", "WebUIOmniboxPopup"]


class ChromiumNotFound(RuntimeError):
    """No usable Chromium binary: the message says where we looked."""


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _playwright_bundled() -> str | None:
    """Playwright's own chromium, if `playwright install` ever ran on this machine."""
    base = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or str(Path.home() / ".cache" / "ms-playwright")
    patterns = ["chromium-*/chrome-linux*/chrome", "chromium-*/chrome-mac*/Chromium.app/Contents/MacOS/Chromium"]
    found = sorted(p for pat in patterns for p in glob.glob(os.path.join(base, pat)))
    found = [p for p in found if _is_executable(p)]
    return found[-1] if found else None   # highest revision sorts last


def chromium_path(explicit: str | None = None) -> str:
    """The Chromium to use: `explicit`, else $LABDECK_CHROMIUM, else Playwright's
    bundled one, else /usr/bin/chromium. Raises ChromiumNotFound."""
    tried = []
    for label, candidate in (("--browser", explicit), ("LABDECK_CHROMIUM", os.environ.get("LABDECK_CHROMIUM"))):
        if candidate:
            if _is_executable(candidate):
                return candidate
            # an explicit choice that is wrong is an error, not a reason to fall back
            raise ChromiumNotFound(f"{label}: {candidate} is not an executable file")
    bundled = _playwright_bundled()
    if bundled:
        return bundled
    tried.append("Playwright's browsers folder")
    if _is_executable(SYSTEM_CHROMIUM):
        return SYSTEM_CHROMIUM
    tried.append(SYSTEM_CHROMIUM)
    raise ChromiumNotFound(
        "no Chromium found (looked in " + ", ".join(tried) + "); "
        "install it (apt-get install chromium) or set LABDECK_CHROMIUM"
    )


def drawing_browser_path(explicit: str | None = None) -> str:
    """The browser that draws diagrams at build time: Chromium's headless shell when no browser
    is named (`explicit`, $LABDECK_CHROMIUM) and one is installed (Debian's chromium-headless-shell,
    or Playwright's), else chromium_path()'s choice. The shell is the same Blink without the
    full browser around it: its browser process costs ~0.25 CPU-s instead of ~0.8, and the
    corpus's diagrams come out byte-identical. Raises ChromiumNotFound."""
    if explicit or os.environ.get("LABDECK_CHROMIUM"):
        return chromium_path(explicit)
    base = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or str(Path.home() / ".cache" / "ms-playwright")
    bundled = sorted(p for p in glob.glob(os.path.join(base, "chromium_headless_shell-*/chrome-linux*/headless_shell"))
                     if _is_executable(p))
    if bundled:
        return bundled[-1]
    if _is_executable(SYSTEM_HEADLESS_SHELL):
        return SYSTEM_HEADLESS_SHELL
    return chromium_path()


@functools.lru_cache(maxsize=1)
def _playwright_disabled_features() -> tuple[str, ...] | None:
    """The features Playwright's own launch arguments disable, read from its driver; None when
    they cannot be found there (another layout of the driver)."""
    try:
        import playwright
        lib = Path(playwright.__file__).parent / "driver" / "package" / "lib"
        for js in [lib / "coreBundle.js", lib / "server" / "chromium" / "chromiumSwitches.js"]:
            if js.is_file():
                found = re.search(r"\bdisabledFeatures = \[(.*?)\]", js.read_text(encoding="utf-8"), re.S)
                if found:
                    return tuple(re.findall(r'^\s*"([A-Za-z0-9]+)"', found.group(1), re.M))
    except (ImportError, OSError, UnicodeDecodeError):
        pass
    return None


def launch_args(args: list[str]) -> list[str]:
    """`args` plus QUIET_FEATURES disabled. Chromium keeps only the last --disable-features and
    Playwright passes its own list before ours: ours repeats it, and when it cannot be read
    nothing is added (their list matters more than a second of CPU)."""
    theirs = _playwright_disabled_features()
    if not theirs:
        return list(args)
    return list(args) + ["--disable-features=" + ",".join(dict.fromkeys([*theirs, *QUIET_FEATURES]))]


@contextmanager
def launch(headless: bool = True, path: str | None = None, args: list[str] = LAUNCH_ARGS) -> Iterator["object"]:
    """Yield a Playwright Browser running our Chromium (`args`: its switches); closes everything on exit."""
    from playwright.sync_api import sync_playwright   # imported late: the build itself never needs it

    executable = chromium_path(path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=headless, args=launch_args(args))
        try:
            yield browser
        finally:
            browser.close()


def run_isolated(fn, *args, **kwargs):
    """Call fn, in a thread of its own when this thread already drives Playwright.

    Playwright's sync API refuses to start inside a running asyncio loop, and
    another sync_playwright() (a test's browser, a check run) is one. A fresh
    thread has no loop, so a build can still draw its diagrams there."""
    import asyncio
    import threading
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    box: dict = {}

    def target():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as e:      # re-raised in the caller's thread
            box["error"] = e

    thread = threading.Thread(target=target, name="labdeck-browser")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
