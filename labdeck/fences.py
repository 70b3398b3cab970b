"""Code fences, written once: three or more backticks or tildes.

`RULE` is marked 0.3's `fences` block rule (remark's converter): group 1 the
fence, 2 the language, 3 the code, closed by the same fence. marked.py uses it
as is; remark's lexer copies it to know where code hides separators
(remark.py renumbers its groups). `LINE` is one line opening or closing a
fence, possibly as the first thing in a list item or a quote (`- ```bash`): the
fence checks, the lab-block parser and the lexer preloading read lines with it.
"""
from __future__ import annotations

import re

MARK = r"`{3,}|~{3,}"
RULE = rf"^ *({MARK}) *(\S+)? *\n([\s\S]+?)\s*\1 *(?:\n+|$)"
LINE = re.compile(rf"^(?P<indent>[ \t]*(?:(?:[-*+]|\d{{1,9}}[.)]|>)[ \t]+)*)(?P<fence>{MARK})(?P<info>.*)$", re.M)


def info_word(info: str) -> str:
    """The first word after a fence: the language, or in a lab block the directive."""
    return info.strip().split(" ", 1)[0] if info.strip() else ""
