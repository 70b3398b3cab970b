"""Put files in place: each file written whole, then renamed over the old one.

Every file a build puts in its output folder goes through `write_output` or
`copy_output`: they refuse a destination outside that folder (a `..` in a
name, a symlink leading out), so no input can make a build write elsewhere.
Every other file labdeck writes (PDF, JUnit report, lab scripts, check report,
caches) goes through `write_atomic` or `replace_atomic`, and a failure is a
`WriteError` naming the file (diagnostics.os_error_line says "cannot write").
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from .diagnostics import BuildError


def output_path(out: Path, rel: str) -> Path:
    """`out / rel`, refused (BuildError) unless it stays inside `out`, symlinks resolved."""
    root = os.path.realpath(out)
    target = os.path.realpath(os.path.join(root, rel))
    if target == root or os.path.commonpath([root, target]) != root:
        raise BuildError(str(rel), None, f"refusing to write outside the output folder {out}")
    return Path(out) / rel


def write_output(out: Path, rel: str, data: str | bytes) -> bool:
    """Write `rel` inside the output folder `out` (see write_atomic)."""
    return write_atomic(output_path(out, rel), data)


def copy_output(out: Path, rel: str, source: Path) -> bool:
    """Copy `source` to `rel` inside the output folder `out` (see copy_atomic)."""
    return copy_atomic(source, output_path(out, rel))


class WriteError(OSError):
    """A file that could not be written: names the file we were writing, not a source."""


def _failed(path: Path, e: OSError) -> WriteError:
    return WriteError(e.errno, e.strerror or str(e), str(path))


def write_atomic(path: Path, data: str | bytes, mode: int = 0o644) -> bool:
    """Write unless identical; returns True when the file changed."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.stat().st_size == len(raw) and path.read_bytes() == raw:
            return False
    except OSError:
        pass
    replace_atomic(path, lambda tmp: Path(tmp).write_bytes(raw), mode=mode)
    return True


def copy_atomic(source: Path, path: Path) -> bool:
    """Copy a file (an image) unless the copy is already up to date."""
    try:
        st, dt = source.stat(), path.stat()
        if st.st_size == dt.st_size and int(st.st_mtime) <= int(dt.st_mtime):
            return False
    except OSError:
        pass
    import shutil
    replace_atomic(path, lambda tmp: shutil.copy2(source, tmp), source=source)
    return True


def replace_atomic(path: Path, fill: Callable[[str], object], source: Path | None = None,
                   mode: int = 0o644) -> None:
    """The one way labdeck puts a file in place: `fill(tmp)` writes a temporary
    file beside `path` (a name of its own, so two writers never share it), which
    is then renamed over `path`; a reader sees the old file or the new one, never
    half of one, and a failure leaves no temporary behind. An OSError becomes a
    WriteError naming `path` (a `source` that cannot be read is reported as is)."""
    import tempfile     # here, not at import time: a warm build writes nothing
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        os.chmod(tmp, mode)         # mkstemp's 0600 would hide the output from a web server
        fill(tmp)
        os.replace(tmp, path)
    except OSError as e:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        if source is not None and e.filename == str(source) and e.errno in (2, 13, 21):
            raise
        raise _failed(path, e) from None
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise


class output_lock:
    """Holds `out/.labdeck-lock` for a build's duration: two builds into one folder
    take turns (the second says so and waits), so neither stamps the other's files."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.fd = None

    def __enter__(self):
        import fcntl
        import sys
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.out / ".labdeck-lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:        # the output folder itself cannot be made or written
            raise _failed(Path(e.filename or self.out), e) from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"{self.out}: note: another labdeck build is writing into this folder; waiting for it",
                  file=sys.stderr, flush=True)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)          # closing releases the lock
        self.fd = None
