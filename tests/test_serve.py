"""The dev server: serves only the output folder, injects live reload on the
way out (never on disk), and streams build events. Real sockets, raw paths."""
from __future__ import annotations

import http.client
import os
import socket

import pytest

from labdeck.serve.server import DevServer

SECRET = "outside-the-output-folder"


@pytest.fixture
def served(tmp_path):
    out = tmp_path / "dist"
    (out / "sub").mkdir(parents=True)
    (out / "deck.html").write_text("<!DOCTYPE html><html><body><p>deck</p></body></html>\n")
    (out / "index.html").write_text("<html><body>index</body></html>\n")
    (out / "sub" / "a.txt").write_text("inside\n")
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    os.symlink(tmp_path / "secret.txt", out / "link.txt")
    os.symlink(tmp_path, out / "linkdir")
    server = DevServer(out, "127.0.0.1", 0).start()
    try:
        yield server, out
    finally:
        server.stop()


def raw_get(server, path: str) -> tuple[int, bytes]:
    """GET with the path exactly as given: browsers and urllib would normalise `..`."""
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_binds_loopback_by_default(tmp_path):
    server = DevServer(tmp_path / "dist", port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
        assert server.url.startswith("http://127.0.0.1:")
    finally:
        server.server_close()


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/sub/../../secret.txt",
    "/sub/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt", "/..%5csecret.txt", "/%2e%2e%2fsecret.txt",
    "/link.txt", "/linkdir/secret.txt", "/sub/a.txt%00.html",
])
def test_paths_escaping_the_output_folder_are_refused(served, path):
    server, _ = served
    status, body = raw_get(server, path)
    assert status in (403, 404)
    assert SECRET.encode() not in body


def test_files_inside_are_served(served):
    server, _ = served
    assert raw_get(server, "/sub/a.txt") == (200, b"inside\n")
    status, body = raw_get(server, "/")
    assert status == 200 and b"index" in body


def test_html_gets_the_reload_script_but_the_file_on_disk_does_not(served):
    server, out = served
    status, body = raw_get(server, "/deck.html")
    assert status == 200
    assert b'<script src="/__labdeck/livereload.js"></script>\n</body>' in body
    assert b"livereload" not in (out / "deck.html").read_bytes()
    status, js = raw_get(server, "/__labdeck/livereload.js")
    assert status == 200 and b"EventSource" in js


def test_build_events_reach_listeners(served):
    server, _ = served
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/__labdeck/events")
    resp = conn.getresponse()
    assert resp.getheader("Content-Type") == "text/event-stream"
    assert resp.readline() == b"event: state\n"
    assert resp.readline().startswith(b"data: ")
    resp.readline()
    server.broker.publish(["deck.html"], ["deck.html"], {"other.html": ["a.md:3: error: boom"]})
    assert resp.readline() == b"event: build\n"
    data = resp.readline()
    assert b'"reload": ["deck.html"]' in data and b"a.md:3: error: boom" in data
    conn.close()


def test_a_folder_named_without_its_slash_is_redirected(served):
    # sub/index.html's relative links resolve against /sub/, not /
    server, out = served
    (out / "sub" / "index.html").write_text("<html><body>sub</body></html>\n")
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/sub")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 301 and resp.getheader("Location") == "/sub/"
    status, body = raw_get(server, "/sub/")
    assert status == 200 and b"sub" in body
    assert raw_get(server, "/deck.html")[0] == 200
