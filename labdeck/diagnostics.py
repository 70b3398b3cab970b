"""Compiler-style diagnostics: `path:line: error|warning: message`.

Stages report into a Diagnostics collector instead of raising tracebacks;
`BuildError` stops a stage at once with one located message.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field

# Every diagnostic of the library goes to this logger. cli.py prints its
# records and counts them (CountHandler), MkDocs' way; a program that uses
# labdeck as a library sees them through logging (stderr by default).
log = logging.getLogger("labdeck")


@dataclass(frozen=True)
class Diagnostic:
    severity: str   # "error" | "warning"
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity}: {self.message}"


class BuildError(Exception):
    """A located, fatal problem: printed as one line, never as a traceback."""

    def __init__(self, path: str, line: int | None, message: str):
        self.diagnostic = Diagnostic("error", str(path), line, message)
        super().__init__(str(self.diagnostic))


@dataclass
class Diagnostics:
    items: list[Diagnostic] = field(default_factory=list)

    def warning(self, path, line, message: str) -> None:
        self.add(Diagnostic("warning", str(path), line, message))

    def error(self, path, line, message: str) -> None:
        self.add(Diagnostic("error", str(path), line, message))

    def add(self, d: Diagnostic) -> None:
        if d not in self.items:     # shared chapters would repeat the same warning per deck
            self.items.append(d)

    def extend(self, other: "Diagnostics") -> None:
        for d in other.items:
            self.add(d)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def failed(self, strict: bool = False) -> bool:
        return bool(self.errors) or (strict and bool(self.warnings))

    def print(self, stream=None, roots=()) -> None:
        """Report every item: to the `labdeck` logger, or into `stream` when given
        (watch mode's own output). With `roots` (source roots), paths open from
        the current folder."""
        for d in self.items:
            line = str(from_here(d, roots) if roots else d)
            if stream is None:
                log.log(logging.ERROR if d.severity == "error" else logging.WARNING, line)
            else:
                print(line, file=stream)


class CountHandler(logging.Handler):
    """Counts the records logged, per level (what `--strict` looks at)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.counts: dict[int, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.levelno] = self.counts.get(record.levelno, 0) + 1

    def count(self, level: int) -> int:
        return sum(n for lvl, n in self.counts.items() if lvl >= level and lvl < level + 10)


class StderrHandler(logging.StreamHandler):
    """One line per record on the current sys.stderr (looked up at each record)."""

    def __init__(self):
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def os_error_line(e: OSError, path=None, action: str | None = None) -> str:
    """One compiler-style line for a file operation that failed (see os_error)."""
    return str(os_error(e, path, action))


def os_error(e: OSError, path=None, action: str | None = None) -> Diagnostic:
    """The error for a file operation that failed: the file, what was being
    done (`action` when the caller knows, else "cannot write" for write.py's
    WriteError), why. The one place an OSError becomes a diagnostic."""
    try:
        from jinja2 import TemplateNotFound
    except ImportError:         # pragma: no cover - jinja2 is a dependency
        TemplateNotFound = ()
    if isinstance(e, TemplateNotFound):
        from .overrides import project_templates
        return Diagnostic("error", str(e.name), None, "template not found (looked in "
                          f"{', '.join(map(str, project_templates().folders))})")
    from .write import WriteError
    if isinstance(e, WriteError) and not action:
        action = "cannot write"
    where = e.filename or path or "labdeck"
    why = e.strerror or str(e)
    return Diagnostic("error", str(where), None, f"{action}: {why}" if action else why)


def openable(path: str, roots) -> str:
    """Chapter paths are relative to their source root (included files to its
    parent): shown relative to the current folder, so that `path:line` opens in
    an editor wherever the command was started."""
    from pathlib import Path
    if not path or Path(path).is_absolute():
        return path
    for root in roots:
        for base in (Path(root), Path(root).parent):
            if (base / path).is_file():
                from .manifest import display_path
                return display_path(base / path)
    return path


def from_here(d: Diagnostic, roots) -> Diagnostic:
    path = openable(d.path, roots)
    return d if path == d.path else Diagnostic(d.severity, path, d.line, d.message)
