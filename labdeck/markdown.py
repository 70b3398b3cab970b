"""Markdown → HTML, as remark shows it: markdown-it-py with marked's rules, and Pygments.

- A slide's content tree (strings and `.name[...]` nodes from remark.py) is
  converted as remark's converter does: each `.name[...]` is converted first,
  and its HTML (`<div class>`/`<span class>`, a lone paragraph unwrapped inside
  a span) is put back into its parent's Markdown, which is then converted.
- The Markdown rules are marked 0.3's, the converter remark bundles (block
  rules in marked.py; bare http(s) URLs become links as in marked's GFM).
- Code, once the slide's HTML is whole (as remark does in the page): Pygments
  at build time, one `remark-code-line` div per line, and remark's
  highlightSpans (`` `x` `` inside code → highlighted, backticks gone).
- Reference links are deck-wide: the deck's table is passed in `env`.
"""
from __future__ import annotations

import bisect
import hashlib
import html
import re
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.common.utils import normalizeReference
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES, Token
from pygments.util import ClassNotFound

from . import forked, marked
from .memo import Caches
from .remark import ContentClass

_SPAN = re.compile(r"([^`\n])`([^`\n]+?)`")
_LONE_P = re.compile(r"\A<p>((?:(?!<p>)[\s\S])*)</p>\n?\Z")
_BRACKETED = re.compile(r"\[([^\[\]]+)\]")
# marked's code blocks, as the converter writes them (language class, escaped text, a final newline)
_CODE_BLOCK = re.compile(r'<pre><code(?: class="([^"]*)")?>(.*?)</code></pre>', re.S)
_TAGS = re.compile(r"<[^>]+>")
_EMPTY_P = re.compile(r"<p>\s*</p>")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>")
# start tags that close an open paragraph, and the elements that hide an outer one (HTML's parser)
_CLOSES_P = frozenset("address article aside blockquote details dialog div dl fieldset figcaption figure footer "
                      "form h1 h2 h3 h4 h5 h6 header hgroup hr main menu nav ol p pre section summary table ul".split())
_P_SCOPE = frozenset("applet caption html table td th marquee object template button".split())
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
# marked's GFM `url` rule
_URL = re.compile(r"""https?://[^\s<]+[^<.,:;"')\]\s]""")


def _css_class(ttype) -> str:
    while ttype not in STANDARD_TYPES:
        ttype = ttype.parent
    return STANDARD_TYPES[ttype]


# A pure function of the name: process-wide (memo.py); each render worker loads its own.
@lru_cache(maxsize=None)
def _lexer(lang: str):
    try:
        return get_lexer_by_name(lang, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def highlight_spans(code: str) -> tuple[str, list[tuple[int, int]]]:
    """remark's highlightSpans: returns the code without the span backticks, and the spans.

    remark runs /([^`])`([^`]+?)`/g on each line: a span needs a character
    before it (none at the start of a line), and `\\` before it keeps the
    backticks (the backslash goes)."""
    if "`" not in code:
        return code, []
    out, spans, pos, length = [], [], 0, 0
    for m in _SPAN.finditer(code):
        before = code[pos:m.start()]
        out.append(before)
        length += len(before)
        if m.group(1) == "\\":
            literal = m.group(0)[1:]
            out.append(literal)
            length += len(literal)
        else:
            out.append(m.group(1))
            length += 1
            spans.append((length, length + len(m.group(2))))
            out.append(m.group(2))
            length += len(m.group(2))
        pos = m.end()
    out.append(code[pos:])
    return "".join(out), spans


def render_code(code: str, lang: str) -> str:
    """`<pre><code class="remark-code ...">` with line divs, Pygments spans and highlighted spans."""
    if code.endswith("\n"):
        code = code[:-1]
    text, spans = highlight_spans(code)
    lexer = _lexer(lang) if lang else None
    tokens = lexer.get_tokens(text) if lexer else [(Token.Text, text)]
    lines: list[list[tuple[bool, str]]] = [[]]
    pos = 0
    bounds = sorted({b for s in spans for b in s})
    starts = [a for a, _ in spans]
    for ttype, value in tokens:
        cls = _css_class(ttype) if lexer else ""
        i, n = 0, len(value)        # walk the value by index: slicing a long one each time is quadratic
        while i < n:
            nl = value.find("\n", i)
            stop = n if nl < 0 else nl
            # cut at highlight boundaries
            k = bisect.bisect_right(bounds, pos)     # the first boundary after pos (no scan of all of them)
            if k < len(bounds) and bounds[k] < pos + (stop - i):
                stop = i + bounds[k] - pos
            if stop > i:
                piece = value[i:stop]
                k = bisect.bisect_right(starts, pos) - 1  # spans are sorted and apart
                inside = k >= 0 and pos < spans[k][1]
                escaped = html.escape(piece, quote=False)
                lines[-1].append((inside, f'<span class="{cls}">{escaped}</span>' if cls else escaped))
                pos += stop - i
                i = stop
            else:                   # at a newline
                lines.append([])
                pos += 1
                i += 1
    out = []
    for line in lines:
        parts, k = [], 0
        while k < len(line):
            if line[k][0]:
                j = k
                while j < len(line) and line[j][0]:
                    j += 1
                parts.append('<span class="remark-code-span-highlighted">' + "".join(p for _, p in line[k:j]) + "</span>")
                k = j
            else:
                parts.append(line[k][1])
                k += 1
        out.append('<div class="remark-code-line">' + "".join(parts) + "</div>")
    lang_class = f" {html.escape(lang)}" if lang else ""
    return f'<pre><code class="remark-code{lang_class}">' + "".join(out) + "</code></pre>\n"


def _code_inline(self, tokens, idx, options, env):
    return '<code class="remark-inline-code">' + html.escape(tokens[idx].content, quote=False) + "</code>"


def _image(self, tokens, idx, options, env):
    """`![:scale 50%](url)`: remark's scale macro (container.training's) is an
    image of that width, inline in its paragraph; not a macro inside code."""
    token = tokens[idx]
    if token.content.startswith(":scale "):
        src = html.escape(token.attrGet("src") or "")
        width = html.escape(token.content[len(":scale "):].strip())
        return f'<img src="{src}" style="width: {width}" />'
    return self.image(tokens, idx, options, env)


def _closable(rule):
    """markdown-it-py looks for the `]` of every `[` up to the end of the paragraph:
    after the last `]` no label can close (20,000 unclosed `[` took seconds), so
    the rule is not even tried there."""
    def guarded(state, silent):
        last = state.env.get("_last]") if isinstance(state.env, dict) else None
        if last is None or last[0] is not state.src:
            last = (state.src, state.src.rfind("]"))
            if isinstance(state.env, dict):
                state.env["_last]"] = last
        if state.pos > last[1]:
            return False
        return rule(state, silent)
    return guarded


def _link_urls(state) -> None:
    """marked's GFM `url` rule: a bare http(s) URL in text is a link to itself, even
    inside a link's text (the page then ends the outer link where the inner one starts)."""
    from markdown_it.token import Token
    for block in state.tokens:
        if block.type != "inline" or not block.children or "://" not in block.content:
            continue
        out, depth, outer_closed = [], 0, False
        for token in block.children:
            if token.type == "link_open":
                depth += 1
            elif token.type == "link_close":
                depth -= 1
                if outer_closed:
                    outer_closed = False
                    continue
            if token.type != "text" or "://" not in token.content:
                out.append(token)
                continue
            pos = 0
            for m in _URL.finditer(token.content):
                if m.start() > pos:
                    out.append(_text_token(Token, token.content[pos:m.start()]))
                if depth and not outer_closed:
                    out.append(Token("link_close", "a", -1))
                    outer_closed = True
                link = Token("link_open", "a", 1)
                link.attrs = {"href": m.group(0)}
                link.markup, link.info = "linkify", "auto"
                out += [link, _text_token(Token, m.group(0)), Token("link_close", "a", -1)]
                pos = m.end()
            if pos < len(token.content):
                out.append(_text_token(Token, token.content[pos:]))
        block.children = out


# The first characters of the inline rules in use (text, newline, escape, backticks,
# strikethrough, emphasis, link, image, autolink, html_inline, entity).
_INLINE_MARKUP = re.compile(r"[\n\\`~*_\[!<&]")


def _inline(state) -> None:
    """markdown-it's core "inline" rule, with a shortcut: two inline texts in three hold
    none of the characters an inline rule starts at, and come out as one text token."""
    md = state.md
    from markdown_it.token import Token
    for token in state.tokens:
        if token.type != "inline":
            continue
        if token.children is None:
            token.children = []
        content = token.content
        if _INLINE_MARKUP.search(content) is None:
            if content:
                token.children = [_text_token(Token, content)]
        else:
            md.inline.parse(content, md, state.env, token.children)


_ESCAPABLE = frozenset("\\`*{}[]()#+-.!_>~|")


def _escape(state, silent: bool) -> bool:
    """marked's GFM escapes: a backslash hides only these characters, and is text before others."""
    if state.src[state.pos] != "\\":
        return False
    nxt = state.src[state.pos + 1:state.pos + 2]
    if nxt and nxt in _ESCAPABLE:
        if not silent:
            state.pending += nxt
        state.pos += 2
    else:
        if not silent:
            state.pending += "\\"
        state.pos += 1
    return True


_CODE_SPAN = re.compile(r"(`+)\s*([\s\S]*?[^`])\s*\1(?!`)")


def _code_span(state, silent: bool) -> bool:
    """marked's inline code: any run of backticks up to the same run; spaces inside trimmed."""
    if state.src[state.pos] != "`":
        return False
    m = _CODE_SPAN.match(state.src, state.pos, state.posMax)
    if m is None:
        if not silent:
            state.pending += "`"
        state.pos += 1
        return True
    if not silent:
        token = state.push("code_inline", "code", 0)
        token.markup = m.group(1)
        token.content = m.group(2)
    state.pos = m.end()
    return True


def _text_token(Token, content: str):
    token = Token("text", "", 0)
    token.content = content
    return token


def make_markdown() -> MarkdownIt:
    from markdown_it.rules_inline import image, link
    md = MarkdownIt("commonmark", {"html": True, "typographer": False}).enable(["strikethrough"])
    md.inline.ruler.at("link", _closable(link))
    md.inline.ruler.at("image", _closable(image))
    md.core.ruler.at("block", marked.block_rule)        # marked's block grammar (marked.py)
    md.core.ruler.at("inline", _inline)
    md.core.ruler.push("marked_url", _link_urls)
    md.inline.ruler.at("backticks", _code_span)
    md.inline.ruler.at("escape", _escape)
    md.normalizeLink = lambda url: url          # marked writes link targets as they are (no %-encoding)
    md.validateLink = lambda url: True          # and refuses none (remark's sanitize is off)
    for name, rule in marked.RENDER_RULES.items():
        md.add_render_rule(name, rule)
    md.add_render_rule("code_inline", _code_inline)
    md.add_render_rule("image", _image)
    return md


_md: MarkdownIt | None = None


def shared_markdown() -> MarkdownIt:
    """The process's markdown-it instance (making one costs ~10 ms)."""
    global _md
    if _md is None:
        _md = make_markdown()
    return _md


def convert(content: list, references: dict, inside: bool = False) -> str:
    """remark's converter on a content tree: each `.name[...]` converted first and its HTML
    put back in its parent's Markdown; a lone paragraph unwrapped inside a span."""
    return _convert(content, references, inside)[0]


def _convert(content: list, references: dict, inside: bool) -> tuple[str, bool]:
    """convert(), and whether the Markdown held a `<` (raw HTML, a converted `.name[...]`):
    without one, every tag is the converter's own and no paragraph ends early."""
    text = "".join(item if isinstance(item, str) else _class_html(item, references) for item in content)
    out = shared_markdown().render(text.lstrip(), {"references": references})
    raw = "<" in text
    if inside and out.startswith("<p>"):
        # remark looks at the HTML as the page reads it: one paragraph and nothing else?
        m = _LONE_P.match(_close_paragraphs(out) if raw else out)
        if m:
            out = m.group(1)
    return out, raw


def _class_html(node: ContentClass, references: dict) -> str:
    tag = "div" if node.block else "span"
    inner = convert(node.content, references, inside=not node.block)
    return f'<{tag} class="{html.escape(" ".join(node.classes))}">{inner}</{tag}>'


def _code_html(m: re.Match) -> str:
    code = m.group(2)
    if "<" in code:             # markup put there by a paragraph around it: remark shows its text
        code = _TAGS.sub("", code)
    return render_code(html.unescape(code), html.unescape(m.group(1) or ""))


def _close_paragraphs(out: str) -> str:
    """Paragraphs as the page's HTML parser ends them: a block tag (a `.name[...]` div,
    raw HTML) closes an open <p>, and the paragraph's own </p> then makes an empty one.
    remark reads its slide back from the page (innerHTML) before dropping empty
    paragraphs: the text after such a block is left outside any paragraph."""
    parts, pos, stack = [], 0, []
    for m in _TAG.finditer(out):
        closing, name = m.group(1), m.group(2).lower()
        if closing:
            if name == "p":
                if _p_in_scope(stack):
                    _pop_to(stack, "p")
                else:                   # no paragraph open: the parser makes an empty one
                    parts.append(out[pos:m.start()] + "<p>")
                    pos = m.start()
            elif name in stack:
                if _p_in_scope(stack) and stack[::-1].index(name) > stack[::-1].index("p"):
                    parts.append(out[pos:m.start()] + "</p>")     # the end tag ends the paragraph too
                    pos = m.start()
                _pop_to(stack, name)
            continue
        if name in _CLOSES_P and _p_in_scope(stack):
            _pop_to(stack, "p")
            parts.append(out[pos:m.start()] + "</p>")
            pos = m.start()
        if name not in _VOID and not m.group(3):
            stack.append(name)
    parts.append(out[pos:])
    return "".join(parts)


def _p_in_scope(stack: list[str]) -> bool:
    for name in reversed(stack):
        if name == "p":
            return True
        if name in _P_SCOPE:
            return False
    return False


def _pop_to(stack: list[str], name: str) -> None:
    while stack and stack.pop() != name:
        pass


def finish(out: str, code: bool = True, raw: bool = True) -> str:
    """What remark does to a converted slide: empty paragraphs and the last newline go,
    code blocks get their lines (and here, their colours). With `code` false, code
    blocks stay as the converter wrote them (what tests/fixtures/markdown/ holds).
    `raw` false: the Markdown held no `<` (see _convert)."""
    if "<p>" in out:
        out = _EMPTY_P.sub("", _close_paragraphs(out) if raw else out)
    if out.endswith("\n"):
        out = out[:-1]
    if code and "<pre><code" in out:
        out = _CODE_BLOCK.sub(_code_html, out)
    return out


def render_tree(content: list, inside: bool, references: dict) -> str:
    out, raw = _convert(content, references, inside)
    return finish(out, raw=raw)


def _render_job(job: tuple[list, bool, dict]) -> str:
    return render_tree(*job)


class RenderQueue:
    """Renders texts into `store` on every core while the build goes on parsing.

    Texts arrive deck by deck; once there is enough work, batches go to forked
    workers (no start-up imports, results come back as strings) and the main
    process parses the next deck meanwhile. Small builds render in-process."""

    BATCH = 100_000          # characters of Markdown per batch sent to the workers

    def __init__(self, store: dict[bytes, str], workers: int = 0):
        import os
        self.store = store
        self.workers = workers or min(os.cpu_count() or 1, 8)
        self.buffer: dict[bytes, tuple[str, bool, dict]] = {}
        self.size = 0
        self.pool = None
        self.running: list = []
        self.sent: set[bytes] = set()        # keys in the workers' hands, not yet in the store

    def add(self, jobs: dict[bytes, tuple[str, bool, dict]]) -> None:
        for key, job in jobs.items():
            if key not in self.buffer and key not in self.store and key not in self.sent:
                self.buffer[key] = job
                self.size += len(source_text(job[0]))
        # Only creating the pool forks: once it runs (its own threads included), batches just go.
        if self.workers > 1 and self.size >= self.BATCH and (self.pool is not None or forked.may_fork()):
            self._send()

    def _send(self) -> None:
        if self.pool is None:
            # Pygments lexers load in the workers, when a code block needs one: most
            # languages of a deck appear a few times (python, sql, ruby cost 30-60 ms
            # each to load), so one worker loading each beats the main process, whose
            # parsing is the build's critical path, loading them all before the fork.
            self.pool = forked.pool(self.workers)
        keys = list(self.buffer)
        self.sent.update(keys)
        jobs = [self.buffer[k] for k in keys]
        self.running.append((keys, self.pool.map_async(_render_job, jobs, chunksize=max(1, len(jobs) // (4 * self.workers)))))
        self.buffer, self.size = {}, 0

    def finish(self) -> None:
        if self.pool is None:
            for key, job in self.buffer.items():
                self.store[key] = render_tree(*job)
            self.buffer = {}
            return
        if self.buffer:
            self._send()
        try:
            for keys, result in self.running:
                for key, html_out in zip(keys, result.get()):
                    self.store[key] = html_out
        finally:
            self.pool.close()
            self.pool.join()
            self.pool, self.running = None, []


def source_text(content: list) -> str:
    """A content tree as one string: what its rendering depends on (with the links it uses)."""
    parts = []
    for item in content:
        if isinstance(item, str):
            parts.append(item)
        else:
            parts.append(f"\0{'div' if item.block else 'span'} {' '.join(item.classes)}\0"
                         f"{source_text(item.content)}\0/\0")
    return "".join(parts)


class Renderer:
    """Renders content trees. `store` maps a key of (a slide's tree, where, links) to
    HTML: it is shared by every deck of a build and kept on disk (cache.py),
    so a chapter used by several decks or builds is rendered once.

    With `plan` set, tree() renders nothing: it lists the trees missing from
    the store, so a build can render all of them at once, in parallel.
    `caches`: the session's memo tables (memo.py), so rebuilds skip work done."""

    def __init__(self, links: dict[str, tuple[str, str | None]], store: dict[bytes, str] | None = None,
                 caches: Caches | None = None):
        self.caches = caches if caches is not None else Caches()
        self.references = {normalizeReference(label): {"href": href, "title": title or ""}
                           for label, (href, title) in links.items()}
        self._cache = {} if store is None else store
        self.plan: dict[bytes, tuple[list, bool, dict]] | None = None
        self._table = hash(tuple(sorted((k, v["href"], v["title"]) for k, v in self.references.items())))

    def _key(self, text: str, inside: bool) -> tuple[bytes, dict]:
        # Rebuilds in one process (watch mode) ask for the same texts again: remember their keys.
        memo = (text, inside, self._table)
        found = self.caches.render_keys.get(memo)
        if found is None:
            found = self.caches.render_keys.remember(memo, self._compute_key(text, inside))
        return found

    def _compute_key(self, text: str, inside: bool) -> tuple[bytes, dict]:
        """Hash of the text and of the deck links it may use: decks with other
        link tables still share the rendering of a chapter that uses none."""
        used = sorted(label for label in {normalizeReference(m) for m in _BRACKETED.findall(text)}
                      if label in self.references) if "[" in text else ()
        refs = {u: self.references[u] for u in used}
        h = hashlib.blake2b(text.encode(), digest_size=16)
        h.update(b"\0i" if inside else b"\0o")
        h.update(repr(sorted((k, v["href"], v["title"]) for k, v in refs.items())).encode())
        return h.digest(), refs

    def markdown(self, text: str, inside: bool = False) -> str:
        return self._render([text], text, inside)

    def tree(self, content: list, inside: bool = False) -> str:
        # A slide's pieces are the very same objects when a deck plans its renders and then
        # fills its slides, and at every watch rebuild of an unchanged chapter: remember the
        # render key by their identity (the pieces kept alive in the memo, checked with `is`),
        # so the slide's text is joined and hashed once.
        ident = (tuple(map(id, content)), inside, self._table)
        hit = self.caches.trees.get(ident)
        if hit is not None and len(hit[0]) == len(content) and all(a is b for a, b in zip(hit[0], content)):
            key, refs = hit[1], hit[2]
        else:
            key, refs = self._key(source_text(content), inside)
            self.caches.trees.remember(ident, (tuple(content), key, refs))
        return self._lookup(content, key, refs, inside)

    def _render(self, content: list, text: str, inside: bool) -> str:
        key, refs = self._key(text, inside)
        return self._lookup(content, key, refs, inside)

    def _lookup(self, content: list, key: bytes, refs: dict, inside: bool) -> str:
        out = self._cache.get(key)
        if out is None:
            if self.plan is not None:
                self.plan[key] = (list(content), inside, refs)
                return ""
            out = self._cache[key] = render_tree(content, inside, refs)
        return out
