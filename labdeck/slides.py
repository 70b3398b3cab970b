"""Chapters → slides, as remark shows them.

remark.py splits each chapter; here we insert markmaker's generated slides,
apply remark's slide model (layouts, templates, `--` steps inheriting the
previous step, `exclude`, `count`), and fill the deck model: every Slide with
its source position, classes, name, notes, topics and lab blocks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from . import fences, remark
from .diagnostics import BuildError, Diagnostics
from .lab_blocks import parse_lab_block
from .memo import Caches
from .model import Chapter, LabBlock, Part, Position, Slide
from .source import ChapterSource

KNOWN_PROPERTIES = {"class", "name", "layout", "template", "exclude", "count",
                    "background-image", "background-position", "background-size",
                    "background-repeat", "background-color", "continued"}
TOPIC_LINE = re.compile(r"^:([A-Z]{2}):[ \t]*(?:-[ \t]*)?(.*?)[ \t]*$", re.M)
_VARIABLE = re.compile(r"(\\)?(\{\{([^}\n]+)\}\})")


@dataclass
class Piece:
    """A parsed slide with the chapter it came from, before remark's slide model."""
    parsed: remark.ParsedSlide
    chapter: ChapterSource
    model_chapter: Chapter
    text: str                       # the text the offsets refer to
    pos: Position
    generated: bool = False


@lru_cache(maxsize=4096)       # a pure function of a string: process-wide is right (memo.py)
def _classes(value: str) -> tuple[str, ...]:
    return tuple(c for c in re.split(r"[,\s]+", value.strip()) if c)


def split_classes(value: str) -> list[str]:
    return list(_classes(value)) if value else []


def check_fences(chapter: ChapterSource, diags: Diagnostics) -> None:
    """Fences remark's converter reads otherwise than authors meant: warnings
    saying what remark shows (marked.py renders them the same way)."""
    if chapter.text in chapter.caches.fences_ok:
        return
    # (offset of the line, fence, what follows it on the line); LINE matches within one line
    runs = [(m.start(), m.group("fence"), m.group("info").strip()) for m in fences.LINE.finditer(chapter.text)]
    found = False
    k = 0
    while k < len(runs):
        start, fence, info = runs[k]
        if len(info) > len(fence) and info.endswith(fence):
            k += 1                      # ```open url``` on one line: a lab directive, not a fence
            continue
        closers = ((i, f) for i in range(k + 1, len(runs))
                   for _, f, rest in (runs[i],) if f[0] == fence[0] and not rest)
        shorter = None
        closed = None
        for i, f in closers:
            if len(f) >= len(fence):
                closed = i
                break
            shorter = shorter or (i, f)
        if closed is None:
            found = True
            # marked backtracks: ```` becomes ``` (the extra backticks join the language) closed by ```
            path, line = chapter.position(start)
            if shorter is not None:
                closed = shorter[0]
                end_line = chapter.position(runs[closed][0])[1]
                diags.warning(path, line, f"code fence {fence} closed by {shorter[1]} on line {end_line}: "
                                          f"remark ends the code block there")
            else:
                diags.warning(path, line, f"unclosed code fence {fence} opened here: remark shows its lines as text")
                k += 1
                continue
        k = closed + 1
    if not found:
        chapter.caches.fences_ok.remember(chapter.text, True)


def _first_text_offset(text: str, start: int) -> int:
    """Where a slide's visible text starts: skip the blank lines after the separator."""
    n = len(text)
    while start < n and text[start] == "\n":
        start += 1
    return start


# marked's block rules recurse per level (and lists cost more than linear time per
# level): deeper blockquotes (`>` x 51) or list items (indented 101+ spaces) are refused.
MAX_BLOCK_NESTING = 50
_TOO_DEEP = re.compile(r"^(?: *>){%d}|^ {%d,}(?:[*+-]|\d+\.) " % (MAX_BLOCK_NESTING + 1, 2 * MAX_BLOCK_NESTING + 1),
                       re.M)


def parse_cached(text: str, caches: Caches) -> list[remark.ParsedSlide]:
    """Chapters shared by several decks are split once per session."""
    slides = caches.parsed.get(text)
    if slides is None:
        slides = caches.parsed.remember(text, remark.parse(text))
    return slides


def _parse_chapter(ch: ChapterSource, text: str) -> list[remark.ParsedSlide]:
    """A chapter's slides, refused when nested deeper than our limits. A text found
    in the memo passed these checks already (decks share most chapters)."""
    parsed = ch.caches.parsed.get(text)
    if parsed is not None:
        return parsed
    try:
        parsed = remark.parse(text)
    except remark.TooDeep as e:
        path, line = ch.position(e.offset)
        raise BuildError(path, line, f".name[ blocks nested more than {remark.MAX_NESTING} deep "
                                     f"(labdeck's limit): refused") from None
    m = _TOO_DEEP.search(text)
    if m is not None:
        path, line = ch.position(m.start())
        raise BuildError(path, line, f"blockquotes or lists nested more than {MAX_BLOCK_NESTING} deep "
                                     f"(labdeck's limit): refused")
    return ch.caches.parsed.remember(text, parsed)


def chapter_pieces(ch: ChapterSource, model: Chapter, text: str, diags: Diagnostics) -> list[Piece]:
    parsed = _parse_chapter(ch, text)
    pieces = []
    for p in parsed:
        for offset, opener in p.unclosed:
            path, line = ch.position(offset)
            diags.warning(path, line, f"unclosed {opener} opened here: remark shows it as text")
        path, line = ch.position(_first_text_offset(text, p.start))
        pieces.append(Piece(p, ch, model, text, Position(path, line)))
    return pieces


def generated_pieces(markdown: str, ch: ChapterSource, model: Chapter, pos: Position) -> list[Piece]:
    return [Piece(p, ch, model, markdown, pos, generated=True) for p in parse_cached(markdown, ch.caches)]


def deck_pieces(chapters: list[ChapterSource], diags: Diagnostics) -> tuple[list[Piece], list[Chapter], list[Part]]:
    """All parsed slides of a deck in order, generated ones included: the chapters
    come finished from source.py (text, positions, titles, title slides' Markdown)."""
    parts: dict[int, Part] = {}
    models: list[Chapter] = []
    pieces: list[Piece] = []
    for ch in chapters:
        check_fences(ch, diags)
        model = Chapter(ch.source, [t for t, _ in ch.titles])
        models.append(model)
        if ch.part is not None:
            parts.setdefault(ch.part, Part(ch.part)).chapters.append(model)
        own = chapter_pieces(ch, model, ch.text, diags)
        # Title slides go before the slide (with its `--` steps) holding each title.
        inserts: dict[int, list[Piece]] = {}
        for t in ch.title_slides:
            i = max((k for k, p in enumerate(own) if p.parsed.start <= t.offset), default=0)
            while i > 0 and own[i].parsed.continued:
                i -= 1
            inserts.setdefault(i, []).extend(generated_pieces(t.markdown, ch, model, t.pos))
        for k, piece in enumerate(own):
            pieces.extend(inserts.get(k, ()))
            pieces.append(piece)
    return pieces, models, [parts[k] for k in sorted(parts)]


def deck_links(pieces: list[Piece], diags: Diagnostics) -> dict[str, tuple[str, str | None]]:
    """Reference definitions are deck-wide in remark; a label defined twice differently is a warning."""
    links: dict[str, tuple[str, str | None]] = {}
    where: dict[str, str] = {}
    for piece in pieces:
        for label, (href, title, offset) in piece.parsed.links.items():
            path, line = piece.chapter.position(offset) if not piece.generated else (piece.pos.path, piece.pos.line)
            key = label.lower()
            if key in links and links[key][0] != href:
                diags.warning(path, line, f"link label [{label}] defined again with another target "
                                          f"(first at {where[key]}: {links[key][0]})")
            links[key] = (href, title)
            where.setdefault(key, f"{path}:{line}")
    return links


# ---- remark's slide model -------------------------------------------------

@dataclass
class Shown:
    """A slide after inheritance: what remark would display."""
    piece: Piece
    properties: dict[str, str]
    content: list                   # str | remark.ContentClass
    notes: list
    own_content: list


def _expand_variables(content: list, properties: dict[str, str]) -> list:
    def expand(m: re.Match) -> str:
        if m.group(1):
            return m.group(2)
        name = m.group(3).strip()
        if name in properties and name != "content":
            return properties[name]
        return "" if name == "content" else m.group(2)

    out = []
    for item in content:
        if isinstance(item, str):
            out.append(_VARIABLE.sub(expand, item) if "{{" in item else item)
        else:
            out.append(item)
    return out


def _inherit(props: dict[str, str], template: Shown) -> dict[str, str]:
    merged = dict(props)
    for key, value in template.properties.items():
        if key in ("name", "layout", "count"):
            continue
        if key == "class" and props.get("class"):
            merged["class"] = f"{value}, {props['class']}"
        elif key == "class" or key not in props:
            merged[key] = value
    return merged


def apply_slide_model(pieces: list[Piece], exclude: list[str], diags: Diagnostics) -> list[Shown]:
    """remark's createSlides + exclusion: which slides show, with what content."""
    excluded_classes = set(exclude)
    shown: list[Shown] = []
    by_name: dict[str, Shown] = {}
    layout: Shown | None = None
    dropping = False
    for piece in pieces:
        p = piece.parsed
        props = p.properties
        own_classes = split_classes(props.get("class", ""))
        if not p.continued:
            dropping = False
        if dropping or props.get("exclude", "").lower() == "true" or excluded_classes.intersection(own_classes):
            dropping = True             # the slide goes, and its `--` steps with it
            continue
        for key in props:
            if key not in KNOWN_PROPERTIES and not piece.generated and key not in p.comment_properties:
                diags.warning(piece.pos.path, piece.pos.line, f"unknown slide property '{key}'")
        template = None
        if p.continued and piece is not pieces[0]:
            template = shown[-1] if shown else None     # remark: a step with nothing before inherits nothing
        elif props.get("template") and props["template"] in by_name:
            template = by_name[props["template"]]
        elif props.get("layout") == "false":
            layout = None
        elif layout is not None and props.get("layout") != "true":
            template = layout
        content = list(p.content)
        notes = [without_topics(n, piece.chapter.caches) for n in p.notes] if p.notes else []
        if template is not None:
            props = _inherit(props, template)
            if any(isinstance(c, str) and "{{content}}" in c.replace(" ", "") for c in template.content):
                own_md = "".join(c for c in content if isinstance(c, str))
                content = [c.replace("{{content}}", own_md) if isinstance(c, str) else c for c in template.content]
            else:
                content = template.content + content
            if template.notes:
                notes = template.notes + ["\n\n"] + notes
        else:
            props = dict(props)
        s = Shown(piece, props, _expand_variables(content, props), notes, list(p.content))
        if props.get("layout") == "true":
            layout = s
            if p.properties.get("name"):
                by_name[p.properties["name"]] = s
            continue
        name = p.properties.get("name")
        if name:
            by_name[name] = s
        shown.append(s)
    return shown


def without_topics(item, caches: Caches):
    """Notes text without its `:XX:` topic lines: they are metadata (index pages,
    the topics list under the notes), not words for the presenter. The same
    string object comes back for the same text (rendering caches by identity)."""
    if not isinstance(item, str) or ":" not in item:
        return item
    found = caches.untopical.get(item)
    if found is None:
        found = caches.untopical.remember(item, _TOPIC_LINE_WHOLE.sub("", item) if TOPIC_LINE.search(item) else item)
    return found

_TOPIC_LINE_WHOLE = re.compile(r"^:[A-Z]{2}:.*(?:\n|$)", re.M)


def topics_of(notes: list) -> dict[str, list[str]]:
    text = "".join(n for n in notes if isinstance(n, str))
    topics: dict[str, list[str]] = {}
    if ":" in text:
        for m in TOPIC_LINE.finditer(text):
            if m.group(2):
                topics.setdefault(m.group(1), []).append(m.group(2))
    return topics


def lab_blocks(piece: Piece, content: list, diags: Diagnostics) -> list[LabBlock]:
    """`.lab[` / `.exercise[` blocks introduced by this step (not the inherited ones)."""
    blocks = []
    stack = list(content)
    while stack:
        item = stack.pop(0)
        if isinstance(item, remark.ContentClass):
            if item.classes and item.classes[0] in ("lab", "exercise"):
                path, line = piece.chapter.position(item.inner_start)
                inner = piece.text[item.inner_start:item.inner_end]
                key = (inner, path, line)
                known = piece.chapter.caches.lab_blocks
                if key not in known:            # decks sharing a chapter share its lab blocks
                    found = Diagnostics()
                    block = parse_lab_block(inner, Position(path, line), found)
                    # errors (an unclosed fence...) stop the labs commands, not the deck:
                    # the fence check reports them for the deck build, as remark shows them
                    block.errors = found.errors
                    found.items = found.warnings
                    known.remember(key, (block, found))
                block, found = known[key]
                diags.extend(found)
                blocks.append(block)
            else:
                stack[:0] = item.content
    return blocks


def build_slides(pieces: list[Piece], exclude: list[str], diags: Diagnostics) -> list[Slide]:
    shown = apply_slide_model(pieces, exclude, diags)
    slides: list[Slide] = []
    names: dict[str, Slide] = {}
    counted = 0
    for i, s in enumerate(shown, 1):
        props = s.properties
        is_counted = props.get("count", "").lower() != "false"
        counted += is_counted
        own_name = s.piece.parsed.properties.get("name")
        slide = Slide(
            number=i, pos=s.piece.pos, name=own_name or None,
            classes=split_classes(props.get("class", "")), properties=props,
            markdown=markdown_of(s.content), notes=markdown_of(s.notes),
            # remark numbers an uncounted slide before any counted one as 1, not 0
            step=0, counted=is_counted, display_number=max(1, counted),
            topics=topics_of(s.piece.parsed.notes or []),
            labs=lab_blocks(s.piece, s.own_content, diags),
            content=s.content, notes_content=s.notes,
        )
        if s.piece.parsed.continued and slides:
            slide.step = slides[-1].step + 1
        if own_name:
            if own_name in names:
                first = names[own_name]
                diags.warning(slide.pos.path, slide.pos.line,
                              f"duplicate slide name '{own_name}' (first at {first.pos})")
            else:
                names[own_name] = slide
        chapter = s.piece.model_chapter
        chapter.slides.append(slide)
        for lang, items in slide.topics.items():
            chapter.topics.setdefault(lang, []).extend(items)
        slides.append(slide)
    return slides


def markdown_of(content: list) -> str:
    """The content tree back as remark Markdown (for the model; rendering uses the tree)."""
    out = []
    for item in content:
        if isinstance(item, str):
            out.append(item)
        else:
            out.append("." + ".".join(item.classes) + "[" + markdown_of(item.content) + "]")
    return "".join(out)
