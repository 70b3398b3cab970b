"""Fenced code as remark's converter (marked, GFM) reads it, as a markdown-it block rule.

marked's rule is one regex, `^ *(`{3,}|~{3,}) *(\\S+)? *\\n([\\s\\S]+?)\\s*\\1 *(?:\\n+|$)`,
and differs from CommonMark where authors make mistakes:
- a fence that is never closed is no fence at all: its lines stay text
  (CommonMark runs the code to the end of the slide);
- the closing run is found at the end of any later line, and a shorter one
  closes a longer opener by backtracking: ```` ````bash ```` closed by ```` ``` ````
  is one code block whose language reads `` `bash ``;
- the info string is one word (```` ```bash title ```` is not a fence), the
  body is at least one character, and its trailing blank lines go.
Indentation inside list items stays markdown-it's.
"""
from __future__ import annotations

import re

_OPENER = re.compile(r"(`{3,}|~{3,}) *(\S+)? *$")
_INFO = re.compile(r" *(\S+)? *$")


def _closing_line(state, start: int, end: int, markup: str) -> tuple[int, int] | None:
    """(line, offset of the closing run) of the first later line ending with `markup`."""
    src = state.src
    for line in range(start + 1, end):
        # no indentation rule: marked finds the closing run in the list item's text, lazy lines included
        first, last = state.bMarks[line] + state.tShift[line], state.eMarks[line]
        text = src[first:last].rstrip(" ")
        if not text.endswith(markup):
            continue
        close = first + len(text) - len(markup)
        # marked's body is at least one character (whitespace counts)
        if line == start + 1 and close == first and state.tShift[line] <= state.blkIndent:
            continue
        return line, close
    return None


def _opening(state, start: int, end: int):
    """(markup, info, closing) of the fence opening at `start`, or None."""
    pos, maximum = state.bMarks[start] + state.tShift[start], state.eMarks[start]
    m = _OPENER.match(state.src, pos, maximum)
    if m is None:
        return None
    run, info = m.group(1), m.group(2) or ""
    # the regex backtracks: a shorter run, the rest of the backticks going to the info string
    for length in range(len(run), 2, -1):
        markup = run[:length]
        if length < len(run):
            rest = _INFO.fullmatch(state.src, pos + length, maximum)
            if rest is None:
                continue
            info = rest.group(1) or ""
        closing = _closing_line(state, start, end, markup)
        if closing is not None:
            return markup, info, closing
    return None


def marked_fence(state, startLine: int, endLine: int, silent: bool) -> bool:
    if state.is_code_block(startLine):
        return False
    if state.src[state.bMarks[startLine] + state.tShift[startLine]:][:1] not in ("`", "~"):
        return False
    found = _opening(state, startLine, endLine)
    if found is None:
        return False
    if silent:
        return True
    markup, info, (close_line, close) = found
    indent = state.sCount[startLine]
    body = state.getLines(startLine + 1, close_line, indent, True)
    body += state.src[state.bMarks[close_line] + state.tShift[close_line]:close]
    body = body.rstrip()
    state.line = close_line + 1
    token = state.push("fence", "code", 0)
    token.info = info
    token.content = body + "\n"
    token.markup = markup
    token.map = [startLine, state.line]
    return True


def use_marked_fences(md) -> None:
    md.block.ruler.at("fence", marked_fence, {"alt": ["paragraph", "reference", "blockquote", "list"]})
