"""Known check findings the author accepts: `check/exceptions.yml` in the manifests' folder
(e.g. slides/check/exceptions.yml; not slides/*.yml, which the build takes for manifests).

    - deck: k8s-services          # required: the deck (manifest stem)
      check: overflow             # required: overflow, title-wrap, empty, image, link,
                                  #   request, remote, page-error, console, count, player
      source: k8s-services/dns.md:12   # optional: path or path:line of the slide
      contains: "at the bottom"   # optional: part of the message
      reason: the table is cut on purpose   # required: why this is fine

The list can only shrink: an entry that matches no finding of a deck that was
checked is itself an error, so fixed problems do not leave stale exceptions.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..diagnostics import BuildError
from ..manifest import display_path

FILENAME = "check/exceptions.yml"
CHECKS = {"overflow", "title-wrap", "empty", "image", "link", "request", "remote",
          "page-error", "console", "count", "player", "structure"}
KEYS = {"deck", "check", "source", "contains", "reason"}


@dataclass
class Exception_:
    path: str           # the exceptions file, as shown in messages
    line: int
    deck: str
    check: str
    source: str | None
    contains: str | None
    reason: str
    used: int = 0

    def matches(self, f) -> bool:
        if f.deck != self.deck or f.check != self.check:
            return False
        if self.source:
            path, _, line = f.source.rpartition(":")
            if self.source != f.source and self.source != path:
                return False
        return not self.contains or self.contains in f.message


def load(folder: Path) -> list[Exception_]:
    """The exceptions of `folder` (none when the file does not exist). Raises BuildError."""
    file = Path(folder) / FILENAME
    if not file.is_file():
        return []
    rel = display_path(file)
    try:
        root = yaml.compose(file.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError) as e:
        raise BuildError(rel, None, f"cannot read: {getattr(e, 'strerror', None) or e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise BuildError(rel, mark.line + 1 if mark else None, f"invalid YAML: {getattr(e, 'problem', e)}") from None
    if root is None:
        return []
    if not isinstance(root, yaml.SequenceNode):
        raise BuildError(rel, root.start_mark.line + 1, "expected a list of exceptions")
    out = []
    for node in root.value:
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.MappingNode):
            raise BuildError(rel, line, "each exception is a mapping (deck, check, reason, ...)")
        entry = {}
        for k, v in node.value:
            if k.value not in KEYS:
                raise BuildError(rel, k.start_mark.line + 1, f"unknown key '{k.value}' (use {', '.join(sorted(KEYS))})")
            if not isinstance(v, yaml.ScalarNode) or not str(v.value).strip():
                raise BuildError(rel, v.start_mark.line + 1, f"'{k.value}' must be a non-empty text")
            entry[k.value] = str(v.value).strip()
        for k in ("deck", "check", "reason"):
            if k not in entry:
                raise BuildError(rel, line, f"exception without '{k}'")
        if entry["check"] not in CHECKS:
            raise BuildError(rel, line, f"unknown check '{entry['check']}' (one of {', '.join(sorted(CHECKS))})")
        out.append(Exception_(rel, line, entry["deck"], entry["check"], entry.get("source"),
                              entry.get("contains"), entry["reason"]))
    return out


def apply(exceptions: list[Exception_], findings: list) -> None:
    """Mark the findings an exception covers (f.excepted = reason)."""
    for f in findings:
        for e in exceptions:
            if e.matches(f):
                f.excepted = e.reason
                e.used += 1
                break


def stale(exceptions: list[Exception_], checked: set[str]) -> list[str]:
    """`path:line: error: ...` for every exception of a checked deck that matched nothing."""
    return [f"{e.path}:{e.line}: error: exception for {e.deck} ({e.check}"
            + (f" at {e.source}" if e.source else "") + ") matches no finding any more: remove it"
            for e in exceptions if e.deck in checked and not e.used]
