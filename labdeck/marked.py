"""The block rules of marked 0.3 (the converter bundled in remark 0.14), for markdown-it-py.

remark converts each slide with marked, options `gfm`, `tables`, `pedantic`
and `smartLists` on. Its block grammar is not CommonMark: a list runs on
across blank lines while lines stay indented, an item's lines lose up to 4
leading spaces whatever the marker's width (so a one-space sub-bullet is a
nested list and a fence inside an item is not indented), a bullet of another
kind starts a new list, items hold lines of text rather than paragraphs, tabs
are 4 spaces, an HTML block must end its line and be followed by a blank line.

`block_rule` replaces markdown-it's core "block" rule: it lexes the source the
way marked's Lexer does (the same regular expressions, built the same way) and
emits markdown-it tokens; the inline rules and the renderer stay markdown-it's,
with render rules (`RENDER_RULES`) that write marked's HTML.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache

from markdown_it.token import Token

from . import fences

# ---- marked's block grammar, built as marked builds it -----------------------------


def _edit(source: str):
    """marked's `replace()` helper: substitute named parts, dropping their `^` anchors."""
    def replace(name: str | None = None, value: str = ""):
        nonlocal source
        if name is None:
            return source
        value = re.sub(r"(^|[^\[])\^", r"\1", value)
        source = source.replace(name, value, 1)
        return replace
    return replace


def _all(source: str, name: str, value: str) -> str:
    return source.replace(name, value)


BULLET = r"(?:[*+-]|\d+\.)"
HR = r"^( *[-*_]){3,} *(?:\n+|$)"
HEADING = r"^ *(#{1,6}) *([^\n]+?) *#* *(?:\n+|$)"
LHEADING = r"^([^\n]+)\n *(=|-){2,} *(?:\n+|$)"
BLOCKQUOTE = r"^( *>[^\n]+(\n[^\n]+)*\n*)+"
# a label is at most 999 characters (marked has no bound): the paragraph rule looks
# ahead for a definition at every line, and an unbounded label scan made 40,000
# lines starting with `[x` quadratic
DEF = r"""^ *\[([^\]]{1,999})\]: *<?([^\s>]+)>?(?: +["(]([^\n]+)[")])? *(?:\n+|$)"""
FENCES = fences.RULE
_TAG = (r"(?!(?:a|em|strong|small|s|cite|q|dfn|abbr|data|time|code|var|samp|kbd|sub|sup|i|b|u|mark|ruby"
        r"|rt|rp|bdi|bdo|span|br|wbr|ins|del|img)\b)\w+(?!:/|[^\w\s@]*@)\b")

ITEM = _all(r"^( *)(bull) [^\n]*(?:\n(?!\1bull )[^\n]*)*", "bull", BULLET)
LIST = _edit(_all(r"^( *)(bull) [\s\S]+?(?:hr|\n{2,}(?! )(?!\1bull )\n*|\s*$)", "bull", BULLET)) \
    ("hr", r"\n+(?=(?: *[-*_]){3,} *(?:\n+|$))")()
HTML = _all(_edit(r"^ *(?:comment|closed|closing) *(?:\n{2,}|\s*$)")
            ("comment", r"<!--[\s\S]*?-->")
            ("closed", r"<(tag)[\s\S]+?<\/\1>")
            ("closing", r"""<tag(?:"[^"]*"|'[^']*'|[^'">])*?>""")(), "tag", _TAG)
_PARAGRAPH = _edit(r"^((?:[^\n]+\n?(?!hr|heading|lheading|blockquote|tag|def))+)\n*") \
    ("hr", HR)("heading", HEADING)("lheading", LHEADING)("blockquote", BLOCKQUOTE)("tag", "<" + _TAG)("def", DEF)()
# gfm: a fence or a list item also ends a paragraph (marked renumbers their groups by hand)
PARAGRAPH = _edit(_PARAGRAPH)("(?!", "(?!" + FENCES.replace("\\1", "\\2") + "|" + LIST.replace("\\1", "\\3") + "|")()
NPTABLE = r"^ *(\S.*\|.*)\n *([-:]+ *\|[-| :]*)\n((?:.*\|.*(?:\n|$))*)\n*"
TABLE = r"^ *\|(.+)\n *\|( *[-:]+[-| :]*)\n((?: *\|.*(?:\n|$))*)\n*"


def _compile(source: str, flags: int = 0) -> re.Pattern:
    # marked matches at the start of what is left: we match at a position (pattern.match(src, pos)),
    # where `^` would not match. JavaScript's `$` without the m flag is the end of the input
    # only; \w, \d, \b are ASCII.
    if not flags & re.M:
        source = source.removeprefix("^")
    source = source.replace("|$)", r"|\Z)").replace("*$)", r"*\Z)")
    return re.compile(source, flags | re.ASCII)


R_NEWLINE = re.compile(r"\n+")
R_CODE = _compile(r"^( {4}[^\n]+\n*)+")
R_FENCES = _compile(FENCES)
R_HEADING = _compile(HEADING)
R_NPTABLE = _compile(NPTABLE)
R_LHEADING = _compile(LHEADING)
R_HR = _compile(HR)
R_BLOCKQUOTE = _compile(BLOCKQUOTE)
R_LIST = _compile(LIST)
_LIST_START = re.compile(r"( *)(" + BULLET + ") ", re.ASCII)
_LIST_HR_END = _compile(r"^\n+(?=(?: *[-*_]){3,} *(?:\n+|$))")
_ASCII_SPACE = " \t\n\r\f\v"           # JavaScript's \s, as far as a deck's text goes


@lru_cache(maxsize=None)
def _list_gap_end(indent: str) -> re.Pattern:
    return re.compile(r"\n{2,}(?! )(?!" + indent + BULLET + r" )\n*", re.ASCII)


def match_list(src: str, pos: int) -> tuple[int, str] | None:
    r"""R_LIST.match(src, pos) as (end, bullet), found line by line.

    marked's list rule ends at the first place after the bullet where a blank
    line ends it, an hr follows, or only white space is left; its lazy
    `[\s\S]+?` tries those endings at every character, and lists are a deck's
    most common block (a quarter of the block stage). Only a newline can
    start the first two endings: they are tried at newlines, in the same order."""
    m = _LIST_START.match(src, pos)
    if m is None or m.end() >= len(src):            # `[\s\S]+?` needs one character
        return None
    first = m.end() + 1
    blank_from = max(first, len(src.rstrip(_ASCII_SPACE)))      # where `\s*$` matches
    gap_end = _list_gap_end(m.group(1))
    at = first
    while True:
        nl = src.find("\n", at)
        if nl < 0 or nl > blank_from:
            return len(src), m.group(2)
        end = _LIST_HR_END.match(src, nl) or gap_end.match(src, nl)
        if end:
            return end.end(), m.group(2)
        if nl == blank_from:
            return len(src), m.group(2)
        at = nl + 1
R_ITEM = _compile(ITEM, re.M)
R_HTML = _compile(HTML)
R_DEF = _compile(DEF)
R_TABLE = _compile(TABLE)
R_PARAGRAPH = _compile(PARAGRAPH)
R_TEXT = re.compile(r"[^\n]+")
R_BULLET = re.compile(BULLET)
_BLANK_SPACES = re.compile(r"^ +$", re.M)
_ITEM_BULLET = re.compile(r"^ *([*+-]|\d+\.) +")
_ITEM_INDENT = re.compile(r"^ {1,4}", re.M)
_QUOTE_MARK = re.compile(r"^ *> ?", re.M)
_LOOSE = re.compile(r"\n\n(?!\s*\Z)")
_INDENT = re.compile(r" *")
_UNDERLINE = re.compile(r" *[=-]")          # what a setext heading's second line starts with
_CODE_INDENT = re.compile(r"^ {4}", re.M)


def normalize(src: str) -> str:
    """marked's Lexer.lex: line ends, tabs as 4 spaces, U+2424.

    marked would also make no-break spaces plain ones, but in a deck they never
    reach it: remark reads its source as the page's HTML (`innerHTML` of the
    textarea), where the browser writes U+00A0 as `&nbsp;`."""
    return (src.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
            .replace("\u00a0", "&nbsp;").replace("\u2424", "\n"))


# ---- the lexer: marked's Lexer.token, emitting markdown-it tokens -----------------


class Lexer:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.level = 0

    def push(self, type_: str, tag: str, nesting: int, content: str = "", **attrs) -> Token:
        token = Token(type_, tag, nesting)
        token.block = True
        token.content = content
        if nesting < 0:
            self.level -= 1
        token.level = self.level
        if nesting > 0:
            self.level += 1
        for k, v in attrs.items():
            if k == "info":
                token.info = v
            elif k == "markup":
                token.markup = v
            else:
                token.meta[k] = v
        return self.tokens.append(token) or token

    def inline(self, content: str) -> None:
        token = self.push("inline", "", 0, content)
        token.children = []

    def paragraph(self, text: str, hidden: bool = False) -> None:
        if hidden:                  # a tight item's text: no <p>, so no tokens for one either
            self.inline(text)
            return
        self.push("paragraph_open", "p", 1)
        self.inline(text)
        self.push("paragraph_close", "p", -1)

    def token(self, src: str, top: bool) -> None:
        src = _BLANK_SPACES.sub("", src)
        pos, end = 0, len(src)
        texts: list[str] = []          # consecutive `text` lines (items): one paragraph, as marked's parseText

        def flush() -> None:
            if texts:
                self.paragraph("\n".join(texts), hidden=not self.loose_item)
                texts.clear()

        while pos < end:
            m = R_NEWLINE.match(src, pos)
            if m:
                pos = m.end()
                if len(m.group(0)) > 1:
                    flush()
                if pos >= end:
                    break
            # marked tries its rules in turn at every block. Each rule but the
            # paragraph's needs its own first character after the indent (or an
            # underline, a `|`): only the rules that may match are tried, in marked's order.
            first = _INDENT.match(src, pos).end()
            c = src[first] if first < end else "\n"
            m = R_CODE.match(src, pos) if first - pos >= 4 else None
            if m:
                flush()
                pos = m.end()
                text = _CODE_INDENT.sub("", m.group(0))
                self.push("code_block", "code", 0, text)         # pedantic: trailing newlines kept
                continue
            m = R_FENCES.match(src, pos) if c in "`~" else None
            if m:
                flush()
                pos = m.end()
                self.push("fence", "code", 0, m.group(3), info=m.group(2) or "", markup=m.group(1))
                continue
            m = R_HEADING.match(src, pos) if c == "#" else None
            if m:
                flush()
                pos = m.end()
                self.heading(len(m.group(1)), m.group(2))
                continue
            eol = src.find("\n", pos)
            if eol < 0:
                eol = end
            if top and src.find("|", pos, eol) >= 0:
                m = R_NPTABLE.match(src, pos)
                if m:
                    flush()
                    pos = m.end()
                    self.table(m.group(1), m.group(2), m.group(3), piped=False)
                    continue
            m = R_LHEADING.match(src, pos) if _UNDERLINE.match(src, eol + 1) else None
            if m:
                flush()
                pos = m.end()
                self.heading(1 if m.group(2) == "=" else 2, m.group(1))
                continue
            m = R_HR.match(src, pos) if c in "-*_" else None
            if m:
                flush()
                pos = m.end()
                self.push("hr", "hr", 0)
                continue
            m = R_BLOCKQUOTE.match(src, pos) if c == ">" else None
            if m:
                flush()
                pos = m.end()
                self.push("blockquote_open", "blockquote", 1)
                self.nested(_QUOTE_MARK.sub("", m.group(0)), top)
                self.push("blockquote_close", "blockquote", -1)
                continue
            found = match_list(src, pos) if c in "*+-" or "0" <= c <= "9" else None
            if found:
                flush()
                end, bullet = found
                rest = self.list(src[pos:end], bullet)
                src = rest + src[end:]
                pos, end = 0, len(src)
                continue
            m = R_HTML.match(src, pos) if c == "<" else None
            if m:
                flush()
                pos = m.end()
                self.push("html_block", "", 0, m.group(0))
                continue
            if top:
                m = R_DEF.match(src, pos) if c == "[" else None
                if m:
                    pos = m.end()           # remark collects link definitions deck-wide
                    continue
                m = R_TABLE.match(src, pos) if c == "|" else None
                if m:
                    flush()
                    pos = m.end()
                    self.table(m.group(1), m.group(2), m.group(3), piped=True)
                    continue
                m = R_PARAGRAPH.match(src, pos)
                if m:
                    pos = m.end()
                    text = m.group(1)
                    self.paragraph(text[:-1] if text.endswith("\n") else text)
                    continue
            m = R_TEXT.match(src, pos)
            if m:
                pos = m.end()
                texts.append(m.group(0))
                continue
            # only a lone "\n" is left at `pos` (the newline rule took the others)
            pos += 1
        flush()

    loose_item = True       # top level and loose items: text lines make visible paragraphs

    def nested(self, src: str, top: bool) -> None:
        saved = self.loose_item
        self.loose_item = True
        self.token(src, top)
        self.loose_item = saved

    def heading(self, depth: int, text: str) -> None:
        # marked gives headings an id from their text; not here: on a page of
        # thousands of slides they repeat, and remark never links to them.
        self.push("heading_open", f"h{depth}", 1)
        self.inline(text)
        self.push("heading_close", f"h{depth}", -1)

    def list(self, text: str, bullet: str) -> str:
        """One list (marked's list rule with smartLists); returns the source it gave back."""
        ordered = len(bullet) > 1
        kind = "ordered_list" if ordered else "bullet_list"
        self.push(f"{kind}_open", "ol" if ordered else "ul", 1)
        items = [i.group(0) for i in R_ITEM.finditer(text)]
        given_back = ""
        next_loose = False
        count = len(items)
        for c in range(count):
            item = items[c]
            item = _ITEM_BULLET.sub("", item, count=1)
            if "\n " in item:
                item = _ITEM_INDENT.sub("", item)          # pedantic: up to 4 spaces, whatever the marker
            if c != count - 1:
                following = R_BULLET.search(items[c + 1]).group(0)
                if not (bullet == following or (len(bullet) > 1 and len(following) > 1)):
                    given_back = "\n".join(items[c + 1:])   # another kind of bullet: a new list
                    count = c + 1
            loose = next_loose or bool(_LOOSE.search(item))
            if c != count - 1:
                next_loose = item.endswith("\n")
                loose = loose or next_loose
            self.push("list_item_open", "li", 1)
            saved = self.loose_item
            self.loose_item = loose
            self.token(item, False)
            self.loose_item = saved
            self.push("list_item_close", "li", -1)
            if c == count - 1:
                break
        self.push(f"{kind}_close", "ol" if ordered else "ul", -1)
        return given_back

    def table(self, header: str, align: str, cells: str, piped: bool) -> None:
        heads = re.split(r" *\| *", re.sub(r"^ *| *\| *$", "", header))
        aligns = []
        for a in re.split(r" *\| *", re.sub(r"^ *|\| *$", "", align)):
            if re.match(r"^ *-+: *$", a):
                aligns.append("right")
            elif re.match(r"^ *:-+: *$", a):
                aligns.append("center")
            elif re.match(r"^ *:-+ *$", a):
                aligns.append("left")
            else:
                aligns.append(None)
        if piped:
            rows = [re.split(r" *\| *", re.sub(r"^ *\| *| *\| *$", "", row))
                    for row in re.sub(r"(?: *\| *)?\n$", "", cells).split("\n")]
        else:
            rows = [re.split(r" *\| *", row) for row in re.sub(r"\n$", "", cells).split("\n")]
        self.push("table_open", "table", 1)
        self.push("thead_open", "thead", 1)
        self.row(heads, aligns, "th")
        self.push("thead_close", "thead", -1)
        self.push("tbody_open", "tbody", 1)
        for row in rows:
            self.row(row, aligns, "td")
        self.push("tbody_close", "tbody", -1)
        self.push("table_close", "table", -1)

    def row(self, cells: list[str], aligns: list, tag: str) -> None:
        self.push("tr_open", "tr", 1)
        for i, cell in enumerate(cells):
            self.push(f"{tag}_open", tag, 1, align=aligns[i] if i < len(aligns) else None)
            self.inline(cell)
            self.push(f"{tag}_close", tag, -1)
        self.push("tr_close", "tr", -1)


def block_rule(state) -> None:
    """markdown-it core rule "block", as marked's Lexer (inline-only parsing left as it was)."""
    if state.inlineMode:
        token = Token("inline", "", 0)
        token.content = state.src
        token.children = []
        state.tokens.append(token)
        return
    Lexer(state.tokens).token(normalize(state.src), True)


# ---- marked's Renderer, for the block tokens ------------------------------------


def _escape(text: str) -> str:
    return html.escape(text, quote=True).replace("&#x27;", "&#39;")


def _code(self, tokens, idx, options, env):
    token = tokens[idx]
    lang = token.info
    if lang:
        return f'<pre><code class="{_escape(lang)}">{_escape(token.content)}\n</code></pre>\n'
    return f"<pre><code>{_escape(token.content)}\n</code></pre>"


def _paragraph_open(self, tokens, idx, options, env):
    return "<p>"


def _paragraph_close(self, tokens, idx, options, env):
    return "</p>\n"


def _close_line(self, tokens, idx, options, env):
    return f"</{tokens[idx].tag}>\n"


def _open_line(self, tokens, idx, options, env):
    return f"<{tokens[idx].tag}>\n"


def _open(self, tokens, idx, options, env):
    return f"<{tokens[idx].tag}>"


def _cell_open(self, tokens, idx, options, env):
    token = tokens[idx]
    align = token.meta.get("align")
    return f'<{token.tag} style="text-align:{align}">' if align else f"<{token.tag}>"


def _html_block(self, tokens, idx, options, env):
    return tokens[idx].content


RENDER_RULES = {
    "code_block": _code, "fence": _code,
    "paragraph_open": _paragraph_open, "paragraph_close": _paragraph_close,
    "heading_open": _open, "heading_close": _close_line,
    "hr": lambda self, tokens, idx, options, env: "<hr>\n",
    "blockquote_open": _open_line, "blockquote_close": _close_line,
    "bullet_list_open": _open_line, "bullet_list_close": _close_line,
    "ordered_list_open": _open_line, "ordered_list_close": _close_line,
    "list_item_open": _open, "list_item_close": _close_line,
    "table_open": _open_line, "table_close": _close_line,
    "thead_open": _open_line, "thead_close": _close_line,
    "tbody_open": _open_line, "tbody_close": _close_line,
    "tr_open": _open_line, "tr_close": _close_line,
    "th_open": _cell_open, "th_close": _close_line,
    "td_open": _cell_open, "td_close": _close_line,
    "html_block": _html_block,
}
