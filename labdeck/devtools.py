"""Chromium driven over its DevTools pipe, without Playwright: for drawing diagrams at build time.

Playwright's Python API talks to a Node.js driver that talks to Chromium; for a
build that only needs one page and a few `evaluate` calls, the driver's start
and the `playwright` import cost about a CPU-second and a second of wall time
before Chromium even starts. Chromium speaks the same protocol itself on two
file descriptors (`--remote-debugging-pipe`: it reads JSON commands on fd 3 and
writes replies on fd 4, each message ended by a NUL byte), so here we start it
with our page's address and send the few commands ourselves.

Checks, PDF and tests keep using Playwright (labdeck/browser.py).
"""
from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import signal
import tempfile
import time

from labdeck.browser import LAUNCH_ARGS, QUIET_FEATURES

# What Playwright adds for a headless Chromium that matters to a drawing page, and the background
# services of the full browser we never use. (Not browser.launch_args(): reading Playwright's list
# from its driver costs 60 ms at the start of the build, and those features are about automation.)
HEADLESS_ARGS = ["--headless", "--hide-scrollbars", "--mute-audio", "--disable-extensions",
                 "--no-default-browser-check", "--disable-dev-shm-usage", "--disable-field-trial-config",
                 "--disable-features=" + ",".join([*QUIET_FEATURES, "MediaRouter", "OptimizationHints"])]


class DevToolsError(RuntimeError):
    """A command failed, timed out, or the browser went away."""


class PipeBrowser:
    """One Chromium process, opened on `url`, driven over its DevTools pipe.

    `call()` sends one command and waits for its reply (events are skipped);
    `close()` (or leaving a `with` block) ends the browser and removes its profile."""

    def __init__(self, executable: str, url: str, extra_args: list[str] = ()):
        self.profile = tempfile.mkdtemp(prefix="labdeck-chromium-")
        # Our ends and theirs, all close-on-exec and above 4, so that the child's fds 3 and 4 are
        # the only ones it inherits (besides 0-2) and the dup2s below cannot clobber each other.
        pipes = [os.pipe(), os.pipe()]
        (their_in, self._to_browser), (self._from_browser, their_out) = [
            [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in pair] for pair in pipes]
        for fd in (*pipes[0], *pipes[1]):
            os.close(fd)
        args = [executable, *HEADLESS_ARGS, *LAUNCH_ARGS, *extra_args,
                "--remote-debugging-pipe", f"--user-data-dir={self.profile}", url]
        try:
            # posix_spawn, not subprocess: mapping fds needs preexec_fn, unsafe in a process with threads.
            self.pid = os.posix_spawn(executable, args, os.environ, file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),     # its D-Bus complaints
                (os.POSIX_SPAWN_DUP2, their_in, 3),
                (os.POSIX_SPAWN_DUP2, their_out, 4)])
        except OSError:
            self._close_fds()
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        finally:
            os.close(their_in)
            os.close(their_out)
        self.status = None
        self._buffer = b""
        self._last_id = 0

    def poll(self) -> int | None:
        """The browser's exit status once it ended (reaped), else None."""
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def __enter__(self) -> "PipeBrowser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict:
        """Send a command (to a page when `session` is given) and return its result."""
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        except OSError as e:
            raise DevToolsError(f"the browser is gone ({e.strerror})") from None
        deadline = time.monotonic() + timeout
        while True:
            reply = self._next_message(deadline, method)
            if reply.get("id") == self._last_id:
                if "error" in reply:
                    raise DevToolsError(f"{method}: {reply['error'].get('message', reply['error'])}")
                return reply.get("result", {})

    def _next_message(self, deadline: float, method: str) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise DevToolsError(f"{method}: no answer from the browser in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise DevToolsError(f"{method}: the browser exited (status {self.poll()})")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def page_session(self, timeout: float = 30.0) -> str:
        """A session on the page the browser opened at start (it may still be loading)."""
        deadline = time.monotonic() + timeout
        while True:
            pages = [t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page"]
            if pages:
                return self.call("Target.attachToTarget", {"targetId": pages[0]["targetId"], "flatten": True})["sessionId"]
            if time.monotonic() > deadline:
                raise DevToolsError("the browser opened no page")
            time.sleep(0.01)

    def close(self) -> None:
        if self.poll() is None:
            try:
                self.call("Browser.close", timeout=5)
            except DevToolsError:
                pass
            if not self.wait(5):
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                self.status = -signal.SIGKILL
        self._close_fds()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _close_fds(self) -> None:
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self._to_browser = self._from_browser = -1


def evaluate(browser: PipeBrowser, session: str, expression: str, timeout: float = 30.0):
    """The value of a JavaScript expression in the page (a promise is awaited); a thrown
    error or rejected promise raises DevToolsError with its message."""
    reply = browser.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                              "returnByValue": True}, session, timeout)
    if "exceptionDetails" in reply:
        details = reply["exceptionDetails"]
        raise DevToolsError(details.get("exception", {}).get("description") or details.get("text", "error"))
    return reply["result"].get("value")
