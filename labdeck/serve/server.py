"""Dev server for `build.py --serve`: serves only the output folder, with live reload.

HTML pages get one <script> (livereload.js) injected on the way out; the
files on disk never contain it. Pages listen on /__labdeck/events
(Server-Sent Events) and reload when their own output changed.
"""
from __future__ import annotations

import json
import mimetypes
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

PREFIX = "/__labdeck/"
LIVERELOAD_JS = Path(__file__).resolve().parent / "livereload.js"
INJECT = b'<script src="/__labdeck/livereload.js"></script>\n'


class Broker:
    """The latest build state and a sequence of events for every SSE client."""

    def __init__(self):
        self._cond = threading.Condition()
        self._events: list[tuple[int, dict]] = []
        self._seq = 0
        self.errors: dict[str, list[str]] = {}   # page ("foo.html") -> error lines, while it fails
        self.closed = False

    def publish(self, reload: list[str], changed: list[str], errors: dict[str, list[str]]) -> None:
        with self._cond:
            self.errors = dict(errors)
            self._seq += 1
            self._events.append((self._seq, {"reload": sorted(reload), "changed": sorted(changed),
                                             "errors": self.errors}))
            del self._events[:-50]               # clients only ever need the last few
            self._cond.notify_all()

    def state(self) -> tuple[int, dict]:
        with self._cond:
            return self._seq, {"reload": [], "changed": [], "errors": dict(self.errors)}

    def wait(self, after: int, timeout: float) -> list[tuple[int, dict]]:
        with self._cond:
            self._cond.wait_for(lambda: self.closed or self._seq > after, timeout)
            return [e for e in self._events if e[0] > after]

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


def resolve(root: Path, raw_path: str) -> Path | None:
    """The file under `root` a request path names, or None when it would leave
    `root` (`..` segments, encoded or not, backslashes, NULs, symlinks out)."""
    path = urlsplit(raw_path).path
    decoded = unquote(path)
    if "\x00" in decoded or "\\" in decoded:
        return None
    parts = [p for p in decoded.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    target = root.joinpath(*parts) if parts else root
    real = Path(os.path.realpath(target))
    if real != root and root not in real.parents:
        return None
    if real.is_dir():
        real = Path(os.path.realpath(real / "index.html"))      # checked again: it may be a link out
        if root not in real.parents:
            return None
    return real


class Handler(BaseHTTPRequestHandler):
    server: "DevServer"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):       # keep the terminal for build messages
        pass

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head: bool = False):
        path = urlsplit(self.path).path
        if path == PREFIX + "events":
            return self._events()
        if path == PREFIX + "livereload.js":
            return self._send(200, LIVERELOAD_JS.read_bytes(), "text/javascript; charset=utf-8", head)
        if path.startswith(PREFIX):
            return self._send(404, b"not found\n", "text/plain", head)
        file = resolve(self.server.root, self.path)
        if file is None:
            return self._send(403, b"forbidden\n", "text/plain", head)
        if file.name == "index.html" and not path.endswith("/") and \
                not unquote(path).endswith("index.html"):
            # a folder named without its slash: its page's relative links need the slash
            return self._redirect(path + "/", head)
        if not file.is_file():
            return self._send(404, b"not found\n", "text/plain", head)
        try:
            data = file.read_bytes()
        except OSError:
            return self._send(404, b"not found\n", "text/plain", head)
        ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if ctype == "text/html":
            data = inject(data)
            ctype += "; charset=utf-8"
        self._send(200, data, ctype, head)

    def _redirect(self, location: str, head: bool = False):
        self.send_response(301)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: int, data: bytes, ctype: str, head: bool = False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")     # a reload must fetch the new build
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _events(self):
        broker = self.server.broker
        if not self.server.sse_slots.acquire(blocking=False):
            return self._send(503, b"too many live-reload listeners\n", "text/plain")
        try:
            self._stream_events(broker)
        finally:
            self.server.sse_slots.release()

    def _stream_events(self, broker):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        seq, state = broker.state()
        try:
            # the current errors first: a page opened while a build is broken shows them too
            self._write_event("state", state)
            while not broker.closed:
                events = broker.wait(seq, 15)
                if not events:
                    self.wfile.write(b": keepalive\n\n")
                    self.wfile.flush()
                for seq, data in events:
                    self._write_event("build", data)
        except OSError:                          # the page went away
            pass

    def _write_event(self, name: str, data: dict) -> None:
        self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()


def inject(html: bytes) -> bytes:
    """Add the live reload script before </body> (or at the end)."""
    at = html.rfind(b"</body>")
    return html + INJECT if at < 0 else html[:at] + INJECT + html[at:]


class DevServer(ThreadingHTTPServer):
    """A thread per connection, with limits: a real listen backlog (a crowd of
    requests waits in the kernel, not in SYN retries), a socket timeout per
    connection (a client that sends nothing, or reads nothing, is dropped), a
    cap on live-reload listeners, and no traceback when a client goes away."""
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512            # the listen backlog (socketserver's default is 5)
    TIMEOUT = 30.0                      # seconds a connection may stay silent, either way
    MAX_LISTENERS = 100                 # open pages listening for builds at once

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 8000,
                 timeout: float | None = None, max_listeners: int | None = None):
        root = Path(os.path.realpath(root))
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.broker = Broker()
        self.timeout_seconds = timeout or self.TIMEOUT
        self.sse_slots = threading.BoundedSemaphore(max_listeners or self.MAX_LISTENERS)
        super().__init__((host, port), Handler)
        self._thread: threading.Thread | None = None

    def get_request(self):
        conn, addr = super().get_request()
        conn.settimeout(self.timeout_seconds)
        return conn, addr

    def handle_error(self, request, client_address):
        """A client that hung up or timed out is no news; anything else is one line."""
        import sys
        e = sys.exc_info()[1]
        if isinstance(e, (ConnectionError, TimeoutError)):
            return
        print(f"labdeck serve: error: {client_address[0]}: {type(e).__name__}: {e}", file=sys.stderr)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}/"

    def start(self) -> "DevServer":
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="labdeck-serve", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.broker.close()                      # SSE loops end, their threads return
        if self._thread:
            self.shutdown()
            self._thread.join(5)
        self.server_close()
