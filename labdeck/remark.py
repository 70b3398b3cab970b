"""remark's slide splitting, ported: lexer + parser rules, with source offsets.

We follow remark's own lexer (src/remark/lexer.js) so that slides split
exactly as remark splits them: `---`/`--`/`???` only count outside fenced
code, indented code, inline code spans and `.name[...]` blocks, and a stray
backtick can hide a separator just as it does in remark.

The output is a list of ParsedSlide, each holding a content tree of strings
and ContentClass nodes, with the source offset of everything.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from . import fences

# remark's regexes, group numbers as in the combined JS regex.
_CODE = r"(?:^|\n)( {4}[^\n]+\n*)+"
_INLINE_CODE = r"`([^`]+?)`"
_CONTENT = r"(?:\\)?((?:\.[a-zA-Z_\-][a-zA-Z\-_0-9]*)+)\["
# marked's fences rule, as remark's lexer copies it: after a newline, only the fence
# captured (group 4 of the combined regex)
_FENCES = "(?:^|\\n)" + (fences.RULE[1:].replace(r"(\S+)?", r"(?:\S+)?")
                          .replace(r"([\s\S]+?)", r"(?:[\s\S]+?)").replace("\\1", "\\4"))
_DEF = r"(?:^|\n) *\[([^\]]+)\]: *<?([^\s>]+)>?(?: +[\"(]([^\n]+)[\")])? *(?:\n+|$)"
_MACRO = r"!\[:([^\] ]+)([^\]]*)\](?:\(([^\)]*)\))?"
_SEPARATOR = r"(?:^|\n)(---?)(?:\n|$)"
_NOTES_SEPARATOR = r"(?:^|\n)(\?{3})(?:\n|$)"

G_CODE, G_INLINE, G_CONTENT, G_FENCES, G_DEF, G_DEF_HREF, G_DEF_TITLE = 1, 2, 3, 4, 5, 6, 7
G_MACRO, G_MACRO_ARGS, G_MACRO_OBJ, G_SEP, G_NOTES = 8, 9, 10, 11, 12


def _compile(parts: list[str]) -> tuple[re.Pattern, re.Pattern]:
    """Two Python regexes for one JS regex consumed from the front.

    JS re-runs the regex on the rest of the string, so `^` means "where we
    are now". Python's `^` does not honour pos, hence one pattern to try at
    pos (`^` → empty) and one to search further on (`^` → impossible, only
    `\\n` remains). JS `$` (no m flag) is Python `\\Z`.
    """
    src = "|".join(parts).replace("$", r"\Z")
    at = re.compile(src.replace("(?:^|\\n)", "(?:|\\n)"))
    # Every alternative starts with one of these characters: checking it
    # first makes the scan several times faster.
    later = re.compile("(?=[\\n`\\\\.!])(?:" + src.replace("(?:^|\\n)", "\\n") + ")")
    return at, later


# Definitions and macros scan to the next `]` (or `)`): tried at every `[x` line or
# `![:x` of a long text, that scan made lexing quadratic. They are found by
# _def_at/_macro_at with an index of the text's brackets instead; in the
# combined regex they keep their place (and group numbers) but never match.
_NEVER = r"(?!)()()()"
BLOCK = _compile([_CODE, _INLINE_CODE, _CONTENT, _FENCES, _NEVER, _NEVER, _SEPARATOR, _NOTES_SEPARATOR])
INLINE = _compile([_CODE, _INLINE_CODE, _CONTENT, _FENCES, _NEVER, _NEVER])
_DEF_ONLY = re.compile(_DEF.replace("(?:^|\\n)", "(?:|\\n)").replace("$", r"\Z"))
_DEF_TAIL = re.compile(_DEF[_DEF.index("\\]:"):].replace("$", r"\Z"))
_MACRO_ONLY = re.compile(_MACRO)
_MACRO_BARE = re.compile(_MACRO[:_MACRO.index("(?:")])
MAX_NESTING = 64        # `.name[` levels inside each other (real decks use 3 or 4)


class TooDeep(Exception):
    """`.name[` blocks nested more than MAX_NESTING deep (at `offset`)."""

    def __init__(self, offset: int):
        super().__init__(offset)
        self.offset = offset


class _Index:
    """Where a text's brackets are: `[` → its `]` (remark's counting), every `]` and `)`,
    every line starting with `[` and every `![:`."""

    def __init__(self, src: str):
        self.src = src
        self.closes = [m.start() for m in re.finditer(r"\]", src)]
        self.parens = [m.start() for m in re.finditer(r"\)", src)]
        self.defs = [m.start() for m in re.finditer(r"\n *\[", src)]
        self.macros = [m.start() for m in re.finditer(r"!\[:", src)]
        self.pairs: dict[int, int] = {}       # offset after a `[` → offset of its `]`
        opened: list[int] = []
        for m in re.finditer(r"[\[\]]", src):
            if m.group() == "[":
                opened.append(m.end())
            elif opened:
                self.pairs[opened.pop()] = m.start()
        self.tails: dict[tuple[int, int], bool] = {}
        self.searches: dict[tuple, tuple] = {}    # (pattern, end) → (from, match) of the last search


_last_index: _Index | None = None


def _index(src: str) -> _Index:
    global _last_index
    if _last_index is None or _last_index.src is not src:
        _last_index = _Index(src)
    return _last_index


class _Found:
    """A match of a lone definition or macro regex, numbered like the combined regex."""

    def __init__(self, m: re.Match, first: int):
        self.m, self.first = m, first

    def group(self, k: int = 0):
        if k == 0:
            return self.m.group(0)
        k = k - self.first + 1
        return self.m.group(k) if k <= self.m.re.groups else None

    def start(self) -> int:
        return self.m.start()

    def end(self) -> int:
        return self.m.end()

    @property
    def lastindex(self) -> int:
        return self.first + (self.m.lastindex or 1) - 1


def _def_at(ix: _Index, src: str, q: int, end: int) -> _Found | None:
    """A link definition starting at q (its newline, or where the lexer stands)."""
    j = q + 1 if src[q] == "\n" else q
    while j < end and src[j] == " ":
        j += 1
    if j >= end or src[j] != "[":
        return None
    k = bisect.bisect_right(ix.closes, j)
    if k == len(ix.closes) or ix.closes[k] >= end or ix.closes[k] == j + 1:
        return None
    c = ix.closes[k]
    ok = ix.tails.get((c, end))
    if ok is None:
        ok = ix.tails[(c, end)] = _DEF_TAIL.match(src, c, end) is not None
    if not ok:
        return None
    m = _DEF_ONLY.match(src, q, end)
    return _Found(m, G_DEF) if m else None


def _macro_at(ix: _Index, src: str, q: int, end: int) -> _Found | None:
    """`![:name args](obj)` starting at q."""
    if q + 3 >= end or src[q + 3] in " ]":
        return None
    k = bisect.bisect_left(ix.closes, q + 3)
    if k == len(ix.closes) or ix.closes[k] >= end:
        return None
    c = ix.closes[k]
    if c + 1 < end and src[c + 1] == "(":
        p = bisect.bisect_left(ix.parens, c + 2)
        if p < len(ix.parens) and ix.parens[p] < end:
            return _Found(_MACRO_ONLY.match(src, q, end), G_MACRO)
    return _Found(_MACRO_BARE.match(src, q, end), G_MACRO)


@dataclass
class Token:
    type: str           # text code fences def macro content_start content_end separator notes_separator
    start: int          # offset in the chapter text
    end: int
    text: str = ""
    classes: list[str] = field(default_factory=list)
    block: bool = False
    id: str = ""        # def: label; macro: name
    href: str = ""      # def: url; macro: obj
    title: str | None = None
    args: list[str] = field(default_factory=list)


def _search(pats, src: str, pos: int, end: int):
    """The next token, as remark's combined regex would find it from pos."""
    at, later = pats
    m = at.match(src, pos, end)
    if m is not None:
        return m         # code, fences... win over a definition at the same place
    ix = _index(src)
    if pos < end:
        found = _def_at(ix, src, pos, end) or (_macro_at(ix, src, pos, end) if src.startswith("![:", pos) else None)
        if found is not None:
            return found
    m = _later(ix, later, src, pos + 1, end) if pos < end else None
    limit = m.start() if m is not None else end
    macros, defs = ix.macros, ix.defs
    for k in range(bisect.bisect_right(macros, pos), len(macros)):
        if macros[k] >= limit:
            break
        found = _macro_at(ix, src, macros[k], end)
        if found is not None:
            m, limit = found, macros[k]
            break
    for k in range(bisect.bisect_right(defs, pos), len(defs)):
        if defs[k] >= limit:
            break
        found = _def_at(ix, src, defs[k], end)
        if found is not None:
            return found
    return m


def _later(ix: _Index, later: re.Pattern, src: str, pos: int, end: int):
    """later.search from pos, reusing the last search when it found nothing before pos
    (a run of definitions or macros would otherwise rescan the rest of the text each time)."""
    last = ix.searches.get((later, end))
    if last is not None and last[0] <= pos and (last[1] is None or last[1].start() >= pos):
        return last[1]
    m = later.search(src, pos, end)
    ix.searches[(later, end)] = (pos, m)
    return m


def _bracketed_end(src: str, pos: int, end: int) -> int | None:
    """Offset of the `]` closing a `[` opened just before pos (remark counts every bracket)."""
    close = _index(src).pairs.get(pos)
    return close if close is not None and close < end else None


def lex(src: str, pos: int = 0, end: int | None = None, pats=BLOCK, tokens=None, depth: int = 0) -> list[Token]:
    tokens = [] if tokens is None else tokens
    end = len(src) if end is None else end
    while pos <= end:
        m = _search(pats, src, pos, end)
        if m is None:
            break
        if m.start() > pos:
            tokens.append(Token("text", pos, m.start(), src[pos:m.start()]))
        g = m.group
        mend = m.end()
        kind = m.lastindex    # which alternative matched: groups are numbered in order
        if kind == G_CODE:
            tokens.append(Token("code", m.start(), mend, m.group(0)))
        elif kind == G_INLINE:
            tokens.append(Token("text", m.start(), mend, m.group(0)))
        elif kind == G_FENCES:
            tokens.append(Token("fences", m.start(), mend, m.group(0)))
        elif G_DEF <= kind <= G_DEF_TITLE:
            # start at the definition itself, not at the newline before it (for its line number)
            start = m.start() + (src[m.start()] == "\n")
            tokens.append(Token("def", start, mend, id=g(G_DEF), href=g(G_DEF_HREF), title=g(G_DEF_TITLE)))
        elif G_MACRO <= kind <= G_MACRO_OBJ:
            args = [a.strip() for a in (g(G_MACRO_ARGS) or "").split(",")]
            tokens.append(Token("macro", m.start(), mend, m.group(0), id=g(G_MACRO), href=g(G_MACRO_OBJ) or "", args=args))
        elif kind == G_SEP:
            tokens.append(Token("separator", m.start(), mend, g(G_SEP)))
        elif kind == G_NOTES:
            tokens.append(Token("notes_separator", m.start(), mend, g(G_NOTES)))
        elif kind == G_CONTENT:
            close = _bracketed_end(src, mend, end)
            if close is None:
                tokens.append(Token("text", m.start(), mend, m.group(0), classes=["<unclosed>"]))
            elif m.group(0)[0] == "\\":
                # `\.name[...]`: remark shows it as written, minus the backslash, its inside not lexed
                tokens.append(Token("text", m.start(), close + 1, src[m.start() + 1:close + 1]))
                mend = close + 1
            else:
                if depth >= MAX_NESTING:
                    raise TooDeep(m.start())
                block = "\n" in src[mend:close]
                tokens.append(Token("content_start", m.start(), mend, classes=g(G_CONTENT)[1:].split("."), block=block))
                lex(src, mend, close, INLINE, tokens, depth + 1)
                tokens.append(Token("content_end", close, close + 1, block=block))
                mend = close + 1
        if mend == pos and m.start() == pos:   # an empty match cannot happen with these regexes; guard anyway
            mend += 1
        pos = mend
        if pos == end:
            break
    if pos < end:
        tokens.append(Token("text", pos, end, src[pos:end]))
    return tokens


@dataclass
class ContentClass:
    classes: list[str]
    block: bool
    start: int              # offset of the `.name[` in the chapter text
    inner_start: int        # offset of the first character inside the brackets
    inner_end: int          # offset of the closing bracket
    content: list = field(default_factory=list)   # str | ContentClass


@dataclass
class ParsedSlide:
    start: int                      # offset of the slide's first character
    content: list = field(default_factory=list)
    notes: list | None = None
    properties: dict[str, str] = field(default_factory=dict)
    links: dict[str, tuple[str, str | None, int]] = field(default_factory=dict)  # label -> (href, title, offset)
    unclosed: list[tuple[int, str]] = field(default_factory=list)   # `.name[` never closed: (offset, opener)
    comment_properties: set[str] = field(default_factory=set)        # keys read from `<!-- key: value -->`

    @property
    def continued(self) -> bool:
        return self.properties.get("continued") == "true"


def _append(target, item) -> None:
    lst = target.notes if isinstance(target, ParsedSlide) and target.notes is not None else target.content
    if lst and isinstance(lst[-1], str) and isinstance(item, str):
        lst[-1] += item
    else:
        lst.append(item)


_PROPERTY = re.compile(r"^\n*([-\w]+):([^$\n]*)|\n*(?:<!--\s*)([-\w]+):([^$\n]*?)(?:\s*-->)", re.I)


def extract_properties(source: str, properties: dict[str, str], from_comments: set[str] | None = None) -> str:
    """remark's extractProperties: leading `name: value` lines, and `<!-- name: value -->` anywhere
    (the keys found in comments go to `from_comments`: often just comments, like `<!-- https://... -->`)."""
    while True:
        # without a comment only the first alternative can match, and only at the start:
        # match() then finds what search() would, without trying every offset
        m = _PROPERTY.search(source) if "<!--" in source else _PROPERTY.match(source)
        if m is None:
            return source
        source = source[:m.start()] + source[m.end():]
        if m.group(1) is not None:
            properties[m.group(1).strip()] = m.group(2).strip()
        else:
            properties[m.group(3).strip()] = m.group(4).strip()
            if from_comments is not None:
                from_comments.add(m.group(3).strip())


def parse(src: str) -> list[ParsedSlide]:
    """remark's Parser.parse, minus macros' expansion and the `exclude: true` filter."""
    slides: list[ParsedSlide] = []
    stack: list = [ParsedSlide(0)]
    for tok in lex(src):
        t = tok.type
        if t in ("text", "code", "fences"):
            if tok.classes:                  # an unclosed `.name[`: remark shows it as text
                stack[0].unclosed.append((tok.start, tok.text))
            _append(stack[-1], tok.text)
        elif t == "def":
            stack[0].links[tok.id] = (tok.href, tok.title, tok.start)
        elif t == "macro":
            _append(stack[-1], tok.text)     # expanded at render time (only `scale` is built in)
        elif t == "content_start":
            stack.append(ContentClass(tok.classes, tok.block, tok.start, tok.end, tok.end))
        elif t == "content_end":
            node = stack.pop()
            node.inner_end = tok.start
            _append(stack[-1], node)
        elif t == "separator":
            slides.append(stack[0])
            new = ParsedSlide(tok.end)
            new.properties["continued"] = "true" if tok.text == "--" else "false"
            stack = [new]
        elif t == "notes_separator":
            stack[0].notes = []
    slides.append(stack[0])
    for s in slides:
        s.properties.setdefault("continued", "false")
        if s.content and isinstance(s.content[0], str):
            s.content[0] = extract_properties(s.content[0], s.properties, s.comment_properties)
    return slides
