"""The deck-wide step list (what labs.json holds and the runner reads), out of
the lab blocks of the deck model (lab_blocks.py parses them), and the variables
the slides set only in prose."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from labdeck.lab_blocks import COMMANDS


@dataclass
class StepRecord:
    index: int              # 1-based over the deck
    deck: str               # manifest stem
    chapter: int            # 1-based index in the deck's chapters
    chapter_title: str
    chapter_source: str
    slide: int              # slide number (1-based)
    slide_title: str
    anchor: str             # slide name, else its number
    url: str                # <stem>.html#<number>
    file: str
    line: int
    directive: str
    text: str
    hidden: bool = False
    placeholder: bool = False
    placeholders: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "StepRecord":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


def _slide_title(markdown: str) -> str:
    for line in markdown.splitlines():
        m = re.match(r"^#{1,6}\s+(.*)", line)
        if m:
            return m.group(1).strip()
    return ""


def collect_steps(deck) -> list[StepRecord]:
    """Every lab step of a loaded Deck, in slide order."""
    records: list[StepRecord] = []
    for ci, chapter in enumerate(deck.chapters, 1):
        for slide in chapter.slides:
            for block in slide.labs:
                for step in block.steps:
                    records.append(StepRecord(
                        index=len(records) + 1, deck=deck.stem, chapter=ci,
                        chapter_title=chapter.title, chapter_source=chapter.source,
                        slide=slide.number, slide_title=_slide_title(slide.markdown),
                        anchor=slide.name or str(slide.number),
                        url=f"{deck.html_name}#{slide.number}",
                        file=step.pos.path, line=step.pos.line,
                        directive=step.directive, text=step.text, hidden=step.hidden,
                        placeholder=step.placeholder, placeholders=list(step.placeholders)))
    return records


# ---------------------------------------------------------------------------
# Variables the slides set only in prose (`CA_CRT=/.../ca.crt` shown as text):
# a command using one would expand it to nothing without a word.

_USED = re.compile(r"\$\{?([A-Z_][A-Z0-9_]*)")
_ASSIGNED = re.compile(r"(?:^|[\s;&|(])(?:export\s+|local\s+|declare\s+(?:-\w+\s+)*)?"
                       r"([A-Z_][A-Z0-9_]*)=")
_BOUND = re.compile(r"\b(?:read|for|select)\s+(?:-\w+\s+)*((?:[A-Z_][A-Z0-9_]*\s*)+)")
# Set by the shell or the login environment.
_KNOWN = frozenset("HOME PATH USER LOGNAME PWD OLDPWD SHELL TERM HOSTNAME UID EUID PPID RANDOM "
                   "SECONDS LINENO BASHPID BASH_VERSION IFS PS1 PS2 LANG LC_ALL TMPDIR EDITOR "
                   "KUBECONFIG DOCKER_HOST".split())


def unset_variables(steps: list[StepRecord]) -> dict[str, StepRecord]:
    """Upper-case variables a command uses that no earlier step sets: name → first use."""
    assigned: set[str] = set(_KNOWN)
    found: dict[str, StepRecord] = {}
    for s in steps:
        if s.directive not in COMMANDS:
            continue
        here = set(_ASSIGNED.findall(s.text))
        for group in _BOUND.findall(s.text):
            here.update(group.split())
        for name in _USED.findall(s.text):
            if name not in assigned and name not in here and name not in found:
                found[name] = s
        assigned |= here
    return found
