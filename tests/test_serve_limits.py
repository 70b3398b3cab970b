"""The dev server under hostile or crowded use: an index that links out, clients
that send nothing or hang up, more live-reload listeners than allowed, and a
crowd of simultaneous requests (the load test). Real sockets on loopback."""
from __future__ import annotations

import os
import socket
import subprocess
import threading
import time

import pytest

from labdeck.serve.server import DevServer

from test_serve import raw_get


@pytest.fixture
def out(tmp_path):
    out = tmp_path / "dist"
    (out / "sub").mkdir(parents=True)
    (out / "index.html").write_text("<html><body>index</body></html>\n")
    (out / "deck.html").write_text("<html><body>" + "slide " * 20_000 + "</body></html>\n")
    return out


def test_a_folder_index_linking_out_of_the_output_is_refused(out, tmp_path):
    (tmp_path / "elsewhere.html").write_text("<p>outside-the-output</p>")
    os.symlink(tmp_path / "elsewhere.html", out / "sub" / "index.html")
    server = DevServer(out, "127.0.0.1", 0).start()
    try:
        for path in ("/sub/", "/sub"):
            status, body = raw_get(server, path)
            assert status in (403, 404), (path, status)
            assert b"outside-the-output" not in body
    finally:
        server.stop()


def test_the_listen_backlog_holds_a_crowd(out):
    """ss shows a listening socket's backlog in Send-Q: socketserver's default is 5."""
    server = DevServer(out, "127.0.0.1", 0)
    try:
        port = server.server_address[1]
        try:
            listing = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
        except FileNotFoundError:
            pytest.skip("no ss command to read the backlog")
        backlog = int(listing.split()[2])
        assert backlog >= 128, listing
    finally:
        server.server_close()


def test_a_silent_client_is_dropped_after_the_timeout(out):
    server = DevServer(out, "127.0.0.1", 0, timeout=1).start()
    try:
        with socket.create_connection(server.server_address[:2], timeout=10) as s:
            s.sendall(b"GET /index.html HTTP/1.1\r\n")        # never finishes its request
            started = time.monotonic()
            assert s.recv(100) == b""                           # the server hung up
            assert time.monotonic() - started < 9
    finally:
        server.stop()


def test_live_reload_listeners_are_capped(out):
    server = DevServer(out, "127.0.0.1", 0, max_listeners=3).start()
    streams = []
    try:
        for _ in range(3):
            s = socket.create_connection(server.server_address[:2], timeout=10)
            s.sendall(b"GET /__labdeck/events HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 200"), "a listener within the cap"
            streams.append(s)
        status, body = raw_get(server, "/__labdeck/events")
        assert status == 503, body
        streams.pop().close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:       # a slot frees once the server sees the hang-up
            server.broker.publish([], [], {})    # a write makes it notice
            s = socket.create_connection(server.server_address[:2], timeout=10)
            s.sendall(b"GET /__labdeck/events HTTP/1.1\r\nHost: x\r\n\r\n")
            if s.recv(100).startswith(b"HTTP/1.1 200"):
                streams.append(s)
                break
            s.close()
            time.sleep(0.2)
        else:
            pytest.fail("a closed listener's slot was never given back")
    finally:
        for s in streams:
            s.close()
        server.stop()


def test_clients_hanging_up_print_nothing(out, capfd):
    server = DevServer(out, "127.0.0.1", 0).start()
    try:
        for _ in range(20):
            s = socket.create_connection(server.server_address[:2], timeout=10)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
            s.sendall(b"GET /deck.html HTTP/1.1\r\nHost: x\r\n\r\n")
            s.close()
        assert raw_get(server, "/index.html")[0] == 200
        time.sleep(0.5)
    finally:
        server.stop()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Error" not in err, err


def test_load_a_crowd_of_clients_on_loopback(out):
    """300 clients at once, each a few requests: every one answered; p99 printed."""
    server = DevServer(out, "127.0.0.1", 0).start()
    clients, per_client = 300, 3
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients, timeout=30)

    def client(k: int) -> None:
        try:
            start.wait()
        except threading.BrokenBarrierError:
            pass
        for j in range(per_client):
            path = "/deck.html" if (k + j) % 3 == 0 else "/index.html"
            began = time.perf_counter()
            try:
                status, body = raw_get(server, path)
                ok = status == 200 and body.endswith(b"</html>\n")
            except OSError as e:
                ok, status = False, repr(e)
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                if not ok:
                    failures.append(f"{path}: {status}")
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    began = time.perf_counter()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        server.stop()
    total = time.perf_counter() - began
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99) - 1]
    print(f"\ndev server load: {clients} clients x {per_client} requests in {total:.2f}s, "
          f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
    assert not failures, failures[:5]
    assert len(latencies) == clients * per_client
