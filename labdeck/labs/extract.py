"""Lab steps out of `.lab[` / `.exercise[` blocks, and the deck-wide step list.

Inside a lab block every fenced block is a step whose info word is its
directive; hidden steps sit in HTML comments as one-line fences
(<!-- ```wait Running``` -->). Other languages (yaml, json, ...) are content.

Placeholders: a highlighted span (`X` inside code, remark highlightSpans) whose
text is ALL-CAPS (letters, digits, `.`, `-`, `_`: `IP-ADDRESS`, `X.X.X.X`) or
wrapped in angle brackets (`<ClusterIP>`) is something the learner must replace.
Such a step gets placeholder=True and `placeholders` (the span texts); scripts
emit it commented out and the runner skips it unless every name is given with
`--set NAME=value`.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import asdict, dataclass, field

from labdeck.diagnostics import Diagnostics
from labdeck.model import LabBlock, LabStep, Position

from labdeck.labs.directives import COMMANDS, VERBATIM
from labdeck.labs.directives import NAMES as DIRECTIVES

# A fence may open a list item on its own line ("- ```bash"), as Markdown renders it.
_FENCE = re.compile(r"^(?P<indent>[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?)"
                    r"(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_SPAN = re.compile(r"`([^`\n]+)`")
# A highlighted span the learner replaces: ALL-CAPS (`IP-ADDRESS`, `X.X.X.X`),
# in angle brackets (`<ClusterIP>`), a name with a filler run (`blue-xxxxxxxx-yyyyy`,
# `jean.doe-token-xxxxx`), an ellipsis (`KUBE-SVC-...`), or a word ending in a
# capital X (`nodeX`).
_PLACEHOLDER = re.compile(r"^(?:[A-Z][A-Z0-9]*(?:[._-][A-Z0-9]+)*|<[^<>\s][^<>]*>?"
                          r"|.*(?<![a-wz])(?:x{4,}|y{4,}|X{4,})(?![a-wz]).*"
                          r"|[\w.-]*\.\.\.|[a-z][a-z0-9-]*X)$")
# The same outside spans, in a command's plain text: `pingpong-xxxxxxxxxx-yyyyy`,
# `<ID>` (not a redirection: no space inside, letters only), `KUBE-SVC-...`.
_PLAIN_PLACEHOLDER = re.compile(r"(?<![\w<])<[A-Za-z][A-Za-z0-9_-]*>(?!\w)"
                                r"|(?<![\w.$-])[\w.-]+-x{4,}(?:-[\w.]+)*"
                                r"|(?<![\w$])[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-\.\.\.")


def is_placeholder(span: str) -> bool:
    """A highlighted span the learner must replace (see the module comment)."""
    return len(span) >= 2 and bool(_PLACEHOLDER.match(span))


def clean_command(text: str) -> tuple[str, list[str]]:
    """Text as typed: highlight backticks removed. Returns (text, placeholders)."""
    names: list[str] = []

    def unspan(m: re.Match) -> str:
        if is_placeholder(m.group(1)) and m.group(1) not in names:
            names.append(m.group(1))
        return m.group(1)

    text = _SPAN.sub(unspan, text)
    for m in _PLAIN_PLACEHOLDER.finditer(text):
        if m.group(0) not in names:
            names.append(m.group(0))
    return text, names


def _content_language(word: str) -> bool:
    """Is `word` a code language (shown as content) rather than a mistyped directive?"""
    if not word:
        return True
    from pygments.lexers import find_lexer_class_by_name
    from pygments.util import ClassNotFound
    try:
        find_lexer_class_by_name(word)
        return True
    except ClassNotFound:
        return False


def _make_step(directive: str, text: str, pos: Position, hidden: bool) -> LabStep:
    names: list[str] = []
    if directive == "keys" and re.fullmatch(r"\^[A-Za-z@\[\\\]^_?]", text):
        directive = "key"        # ```keys ^C```: one key, as tmux send-keys reads it
    if directive in COMMANDS:
        text, names = clean_command(text)
    step = LabStep(directive=directive, text=text, pos=pos, hidden=hidden or directive == "hide",
                   placeholder=bool(names))
    step.placeholders = names   # extra attribute until model.LabStep grows the field
    return step


def _one_line(body: str) -> tuple[str, str] | None:
    """```word argument``` → (word, argument); None when the fence does not close on the line."""
    # Text after the closing fence is ignored: authors write ```key ^[``` ] to
    # keep the brackets of the enclosing .lab[ balanced.
    m = re.match(r"^(?P<word>[^\s`]*)(?P<arg>.*?)`{3,}", body)
    if not m:
        return None
    arg = m.group("arg")
    arg = arg[1:] if arg[:1] == " " else arg
    return m.group("word"), arg


def parse_lab_block(text: str, start: Position, diags: Diagnostics) -> LabBlock:
    """Steps of one lab block. `text` is what lies between `.lab[` and `]`,
    `start` the position of its first character."""
    block = LabBlock(pos=start)
    lines = text.split("\n")
    in_comment = False
    i = 0
    while i < len(lines):
        line = lines[i]
        lineno = start.line + i
        # Where HTML comments open/close on this line decides `hidden`.
        before_fence = line.split("```", 1)[0]
        if "<!--" in before_fence:
            in_comment = True
        m = _FENCE.match(line.replace("<!--", "    ", 1) if "<!--" in before_fence else line)
        if not m:
            if "-->" in line:
                in_comment = False
            i += 1
            continue
        fence, info = m.group("fence"), m.group("info")
        pos = Position(start.path, lineno)
        one = _one_line(info) if fence[0] == "`" and fence in info else None
        if one is not None:
            word, arg = one
            _add(block, word, arg if word in VERBATIM else arg.strip(), pos, in_comment, diags)
            if "-->" in info.split(fence)[-1]:
                in_comment = False
            i += 1
            continue
        # Multi-line fence: collect until a closing fence of the same kind.
        word = info.strip().split(" ", 1)[0] if info.strip() else ""
        body: list[str] = []
        j = i + 1
        closed = False
        while j < len(lines):
            c = lines[j].strip()
            # A hidden block may close its comment on the fence's line: ``` -->
            if c.startswith(fence[0] * len(fence)) and c.strip(fence[0]).strip() in ("", "-->"):
                closed = True
                break
            body.append(lines[j])
            j += 1
        if not closed:
            diags.error(start.path, lineno, f"unclosed code fence {fence}{word} in lab block")
            break
        content = textwrap.dedent("\n".join(body)).strip("\n")
        _add(block, word, content, pos, in_comment, diags)
        if "-->" in lines[j]:
            in_comment = False
        i = j + 1
    return block


def _add(block: LabBlock, word: str, arg: str, pos: Position, hidden: bool,
         diags: Diagnostics) -> None:
    if word in DIRECTIVES:
        block.steps.append(_make_step(word, arg, pos, hidden))
    elif word and (hidden or not _content_language(word)):
        # A hidden fence is always meant as a step; a visible one with an
        # unknown word is most likely a typo of a directive.
        diags.warning(pos.path, pos.line, f"unknown lab directive {word!r} (step ignored)")


# ---------------------------------------------------------------------------
# The deck-wide step list (what labs.json holds and the runner reads).

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


_CAPS = re.compile(r"(?<![$\w])[A-Z][A-Z0-9]*(?:[._-][A-Z0-9]+)+|(?<![$\w])[A-Z]{3,}\b")


def collect_steps(deck) -> list[StepRecord]:
    """Every lab step of a loaded Deck, in slide order."""
    records: list[StepRecord] = []
    for ci, chapter in enumerate(deck.chapters, 1):
        for slide in chapter.slides:
            for block in slide.labs:
                for step in block.steps:
                    names = list(getattr(step, "placeholders", None) or [])
                    if step.placeholder and not names:   # model copy lost the attribute
                        names = sorted(set(_CAPS.findall(step.text)))
                    records.append(StepRecord(
                        index=len(records) + 1, deck=deck.stem, chapter=ci,
                        chapter_title=chapter.title, chapter_source=chapter.source,
                        slide=slide.number, slide_title=_slide_title(slide.markdown),
                        anchor=slide.name or str(slide.number),
                        url=f"{deck.html_name}#{slide.number}",
                        file=step.pos.path, line=step.pos.line,
                        directive=step.directive, text=step.text, hidden=step.hidden,
                        placeholder=step.placeholder, placeholders=names))
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
