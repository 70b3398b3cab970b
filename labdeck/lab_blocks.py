"""Lab blocks: the directive table and the parser of `.lab[` / `.exercise[` blocks.

Core, not `labs/`: the deck model holds each slide's lab blocks (slides.py
parses them while building), and the labs commands, runner, scripts and docs
read the same table.

Inside a lab block every fenced block is a step whose info word is its
directive; hidden steps sit in HTML comments as one-line fences
(<!-- ```wait Running``` -->). Other languages (yaml, json, ...) are content.

Placeholders: a highlighted span (`X` inside code, remark highlightSpans) whose
text is ALL-CAPS (letters, digits, `.`, `-`, `_`: `IP-ADDRESS`, `X.X.X.X`) or
wrapped in angle brackets (`<ClusterIP>`) is something the learner must replace.
Such a step gets placeholder=True and `placeholders` (the span texts); scripts
emit it commented out and the runner skips it unless every name is given with
`--set NAME=value`.

The directives' meaning comes from how container.training's authors use them (a
learner at a terminal, possibly split in tmux panes):
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from . import fences
from .diagnostics import Diagnostics
from .model import LabBlock, LabStep, Position


@dataclass(frozen=True)
class Directive:
    name: str
    argument: str       # what the text after the word is
    runner: str         # what `labs run` does with it (docs/labs.md shows this)
    script: str         # what the generated scripts do with it
    follows: bool = False        # talks to the program the command before it started
    limit: float | None = None   # seconds a wait may take in the scripts


TABLE: tuple[Directive, ...] = (
    Directive("bash", "command(s)",
              "types the command into the active pane and waits for a prompt: the outer "
              "shell's (its status judged, line by line in a block) or a nested shell's "
              "(sh, bash, python, `kubectl exec -ti`...)",
              "the command; inside a nested shell's region, sent to that shell"),
    Directive("hide", "command(s)", "as `bash` (the command is not shown on the slide)",
              "as `bash`"),
    Directive("wait", "text",
              "waits until the text shows in the active pane (up to --step-timeout, 120 s by "
              "default); the command before it may keep running",
              "with ^C after it: a bounded run until the text shows (60 s); without: the "
              "command runs in the background until the text shows", True, 60.0),
    Directive("longwait", "text", "as `wait`, five times as long", "as `wait`, 600 s", True, 600.0),
    Directive("key", "key name",
              "sends one key by name: ^C, ^D, ^J, ^[, Enter, Escape, Tab, Space, "
              "Up/Down/Left/Right, Home/End, PageUp/PageDown, F1-F12, or one character",
              "^C stops the command before it (bounded run); ^D ends a nested shell; "
              "other keys are noted", True),
    Directive("keys", "text",
              "types the text as is (a trailing space is kept); never a command by itself; "
              "a lone `^C`-style name is that key",
              "noted in a comment, never run", True),
    Directive("copy", "regex",
              "remembers the last match of the regex on the pane's screen (line breaks removed)",
              "noted", True),
    Directive("paste", "", "types what `copy` remembered", "noted", True),
    Directive("check", "", "the last command in the active pane must have exited with status 0",
              "nothing to do: the script stops at a failing command"),
    Directive("open", "URL", "recorded, not opened", "prints the URL"),
    Directive("tmux", "tmux command",
              "runs it on the lab's tmux session (split-pane, select-pane, last-pane, "
              "new-window, kill-pane...): new panes start in the outer shell's folder with "
              "its variables",
              "split-pane/new-window: the command before it keeps running in the "
              "background (a watcher); others noted"),
)

BY_NAME = {d.name: d for d in TABLE}
NAMES = frozenset(BY_NAME)
COMMANDS = frozenset({"bash", "hide"})          # typed as shell commands
FOLLOWERS = frozenset(d.name for d in TABLE if d.follows)
WAIT_LIMIT = {d.name: d.limit for d in TABLE if d.limit}
VERBATIM = frozenset({"keys"})                  # a trailing space matters


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
    return LabStep(directive=directive, text=text, pos=pos, hidden=hidden or directive == "hide",
                   placeholder=bool(names), placeholders=names)


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
        m = fences.LINE.match(line.replace("<!--", "    ", 1) if "<!--" in before_fence else line)
        if m and ">" in m.group("indent"):
            m = None                    # a fence in a quote is quoted text, not a step
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
        word = fences.info_word(info)
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
    if word in NAMES:
        block.steps.append(_make_step(word, arg, pos, hidden))
    elif word and (hidden or not _content_language(word)):
        # A hidden fence is always meant as a step; a visible one with an
        # unknown word is most likely a typo of a directive.
        diags.warning(pos.path, pos.line, f"unknown lab directive {word!r} (step ignored)")
