"""Deck model → HTML: slide content, notes, images, the deck page, index pages.

Nothing here writes files: it returns {dist-relative path: bytes or source
file}, and write.py puts them in place atomically.
"""
from __future__ import annotations

import html as htmlmod
import re
from pathlib import Path
from urllib.parse import quote, unquote

from jinja2 import Environment
from markupsafe import Markup, escape

from .diagnostics import BuildError, Diagnostics
from .labels import has_labels, labels
from .markdown import Renderer, shared_markdown
from .memo import Caches
from .model import Deck
from .source import _no_tags, anchor
from .theme import Theme

_IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)


def pygments_css() -> str:
    from .theme import pygments_css as both_schemes
    return both_schemes()


def _local_refs(html: str, caches: Caches) -> list[str]:
    # rebuilds see the same slide HTML again
    refs = caches.image_refs.get(html)
    if refs is None:
        refs = [a or b or c for a, b, c in _IMG_SRC.findall(html)]
        if "url(" in html:
            refs += _CSS_URL.findall(html)
        caches.image_refs.remember(html, refs)
    return refs


def collect_images(deck: Deck, root: Path, diags: Diagnostics, caches: Caches, seen_remote: set[str] | None = None,
                   fetch=None) -> dict[str, Path]:
    """Every local image a slide shows, resolved against the source root (where remark's page sat).
    Remote images are reported once per build (`seen_remote` is shared by the build's decks);
    with `fetch` (offline.RemoteFetcher, --fetch-remote) they are copied into dist/ instead."""
    assets: dict[str, Path] = {}
    seen_remote = set() if seen_remote is None else seen_remote
    resolved_root = root.resolve()
    for slide in deck.slides:
        refs = _local_refs(slide.html, caches)
        if "background-image" in slide.properties:     # a new list: the memoized one stays as it is
            refs = refs + _CSS_URL.findall(slide.properties["background-image"])
        copies: dict[str, str] = {}
        for ref in refs:
            url = htmlmod.unescape(ref)
            ref = url.split("#")[0].split("?")[0]
            if not ref or ref.startswith("data:"):
                continue
            if _REMOTE.match(ref):
                got = fetch(url) if fetch is not None and ref.startswith(("http:", "https:", "//")) else None
                if got is not None:
                    copies[url] = got[0]
                    assets[got[0]] = got[1]
                elif ref not in seen_remote:
                    seen_remote.add(ref)
                    path, line = _remote_origin(deck, slide, ref)
                    why = f" (--fetch-remote failed: {fetch.failures.get(url, 'not a picture URL')})" if fetch else ""
                    diags.warning(path, line, f"remote image stays remote: {ref}{why}")
                continue
            if "\x00" in ref:
                raise BuildError(slide.pos.path, slide.pos.line, "image name holding a NUL character")
            target = _resolved(root / ref, caches)
            if "%" in ref and not target.is_file():     # `a%20b.png`: the file is `a b.png`
                target = _resolved(root / unquote(ref), caches)
            if not target.is_relative_to(resolved_root):
                raise BuildError(slide.pos.path, _line_of(root, slide, ref), f"image '{ref}' is outside the source folder")
            if not target.is_file():    # remark shows a broken picture: a warning, not a refused deck
                diags.warning(slide.pos.path, _line_of(root, slide, ref),
                              f"image '{ref}' not found (remark shows a broken picture)")
                continue
            assets[target.relative_to(resolved_root).as_posix()] = target
        if copies:
            from .offline import point_at_copies
            point_at_copies(slide, copies)
    return assets


def _resolved(path: Path, caches: Caches) -> Path:
    """path.resolve() (a symlink loop still raises), remembered for the build like
    source.real_path: the decks of a build show mostly the same pictures, and
    resolving stats every folder on the way."""
    key = str(path)
    found = caches.realpaths.get(key)
    if found is None:
        found = caches.realpaths.remember(key, str(path.resolve()))
    return Path(found)


def _remote_origin(deck: Deck, slide, ref: str) -> tuple[str, int]:
    """Where a remote picture is named: markmaker's picture slides come from interstitials.txt."""
    if "pic" in slide.classes:
        path = Path(deck.manifest).parent / "interstitials.txt"
        try:
            lines = path.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError):
            lines = []
        for n, text in enumerate(lines, 1):
            if text.strip() == ref:
                from .manifest import display_path
                return display_path(path), n
    return slide.pos.path, slide.pos.line


_IMG_TAG = re.compile(r"<img\b(?![^>]*\bloading=)", re.I)


def _line_of(root: Path, slide, ref: str) -> int:
    """The line naming `ref`, at or after the slide's first line (the slide's line if not found)."""
    try:
        lines = (root / slide.pos.path).read_text(encoding="utf-8").split("\n")
    except OSError:
        return slide.pos.line
    for n in range(slide.pos.line - 1, len(lines)):
        if ref in lines[n]:
            return n + 1
    return slide.pos.line


_YML_HTML = re.compile(r'(href="(?:\./)?)([\w.-]+)\.ya?ml\.html(?=[#"])')


def _deck_links(html: str, manifests_dir: Path) -> str:
    """markmaker named pages `<manifest>.yml.html`; ours are `<stem>.html`: links
    between decks of the same folder follow (other links stay as written)."""
    return _YML_HTML.sub(lambda m: m.group(1) + m.group(2) + ".html"
                         if (manifests_dir / f"{m.group(2)}.yml").is_file()
                         or (manifests_dir / f"{m.group(2)}.yaml").is_file() else m.group(0), html)


def deck_language(deck: Deck) -> str:
    """The deck's language (manifest `lang`, default English): its page's lang, its notes' topics."""
    return str(deck.values.get("lang") or "en").strip().lower() or "en"


def render_slides(deck: Deck, renderer: Renderer) -> None:
    lang = deck_language(deck)
    md = shared_markdown()
    for slide in deck.slides:
        html = renderer.tree(slide.content)
        if ".html" in html and "ml.html" in html:
            html = _deck_links(html, deck.manifest.parent)
        # Lazy images: a 2,000-slide deck must not fetch every picture before showing slide 1.
        slide.html = _IMG_TAG.sub('<img loading="lazy" decoding="async"', html) if "<img" in html else html
        notes = renderer.tree(slide.notes_content) if slide.notes_content else ""
        topics = slide.topics.get(lang.upper())
        slide.notes_html = notes + _topics_list(md, lang, topics, renderer.caches) if topics else notes


def _topics_list(md, lang: str, topics: list[str], caches: Caches) -> str:
    """The slide's `:XX:` lines of the deck's language, under its notes (their lines left the notes)."""
    items = "".join(f"<li>{_topic(md, t, caches)}</li>" for t in topics)
    return (f'\n<div class="labdeck-topics"><p class="labdeck-topics-label">{escape(labels(lang).topics)}</p>'
            f"<ul>{items}</ul></div>")


def deck_page(deck: Deck, env: Environment, caches: Caches) -> str:
    count = len(deck.slides)
    total = max((s.display_number for s in deck.slides), default=1)
    prefix = Markup(_no_tags(deck.values.get("slidenumberprefix", "")))
    context_deck = {"title": deck.title, "stem": deck.stem, "count": count, "total": total, "prefix": prefix,
                    "lang": deck_language(deck), "sections": deck_sections(deck),
                    "stylesheets": deck.stylesheet_links}
    slides_html = Markup("\n".join(_slide_markup_cached(s, prefix, total, caches) for s in deck.slides))
    theme = deck.theme or Theme()
    return theme.environment(env).get_template("deck.html.j2").render(
        deck=context_deck, slides_html=slides_html, assets="assets", theme=theme.name,
        theme_css=theme.stylesheets("assets"))


def deck_sections(deck: Deck) -> list[list]:
    """[first slide number, part number, title] for every chapter title, in slide order:
    the player shows the part and chapter of the current slide. A title starts at its
    generated title slide (`name: toc-<anchor>`), else at its chapter's first slide."""
    named = {}
    for s in deck.slides:
        if s.name and s.name not in named:
            named[s.name] = s.number
    found = []
    for part in deck.parts:
        for ch in part.chapters:
            for k, title in enumerate(ch.titles):
                first = named.get(anchor(title)) or (ch.slides[0].number if ch.slides and k == 0 else None)
                if first:
                    found.append([first, part.number, title])
    return sorted(found, key=lambda x: x[0])


def _slide_markup_cached(s, prefix: str, total: int, caches: Caches) -> str:
    # Everything but the numbers is the same in every deck showing the slide (decks
    # share chapters) and at every rebuild in watch mode: remembered without them.
    key = (s.name, s.pos, tuple(s.classes), s.html, s.notes_html, _slide_style(s.properties))
    parts = caches.markup.get(key)
    if parts is None:
        parts = caches.markup.remember(key, _slide_parts(s))
    return slide_markup(s, prefix, total, parts)


def slide_markup(s, prefix: str, total: int, parts: tuple[str, str] | None = None) -> str:
    """One slide container: remark's DOM (docs/deck-html.md). Slide and notes
    HTML are ours (rendered from trusted Markdown); every attribute is escaped."""
    head, tail = parts or _slide_parts(s)
    return (f'<div class="remark-slide-container" id="slide-{s.number}" data-number="{s.number}"{head}'
            f'<div class="remark-slide-number">{prefix}{s.display_number}/{total}</div>{tail}')


def with_new_slide_html(page: str, changed: list) -> str | None:
    """`page` (deck_page's) with the HTML of each slide of `changed` ([(slide, its HTML when the
    page was assembled)], in slide order) replaced by its HTML of now: the SVGs of diagrams drawn
    while the page was assembled. None when a slide's old HTML is not where it was put."""
    pieces, pos = [], 0
    for s, old in changed:
        container = page.find(f'<div class="remark-slide-container" id="slide-{s.number}" ', pos)
        at = page.find(f'">\n{old}\n', container) + 3 if container >= 0 and old else -1
        if at < 3:
            return None
        pieces += [page[pos:at], s.html]
        pos = at + len(old)
    return "".join(pieces) + page[pos:]


def _slide_parts(s) -> tuple[str, str]:
    """A slide container's markup before and after its number, from its name on."""
    name = f' data-name="{escape(s.name)}"' if s.name else ""
    classes = escape("".join(" " + c for c in s.classes))
    style = _slide_style(s.properties)
    style = f' style="{escape(style)}"' if style else ""
    notes = f'\n<template class="remark-slide-notes">{s.notes_html}</template>' if s.notes_html else ""
    head = (f'{name} data-source="{escape(str(s.pos))}">\n<div class="remark-slide-scaler"><div class="remark-slide">\n'
            f'<div class="remark-slide-content{classes}"{style}>\n{s.html}\n')
    return head, f'\n</div>\n</div></div>{notes}\n</div>'


def _slide_style(props: dict[str, str]) -> str:
    return "; ".join(f"{k}: {props[k]}" for k in ("background-image", "background-position",
                                                    "background-size", "background-repeat",
                                                    "background-color") if k in props)


def index_pages(summaries: dict[str, dict], env: Environment, caches: Caches,
                diags: Diagnostics | None = None) -> dict[str, str]:
    """dist/index.html (English) and one folder per other language found in `:XX:` lines,
    each with the labels of its language (labdeck/labels.py; English when it has none)."""
    md = shared_markdown()
    languages = sorted({lang for d in summaries.values() for ch in d["chapters"] for lang in ch["topics"]} | {"EN"})
    languages = ["EN"] + [l for l in languages if l != "EN"]
    pages = {}
    for lang in languages:
        if not has_labels(lang) and diags is not None:
            diags.warning(_first_topic_source(summaries, lang), None,
                          f"no index labels for language {lang} (labdeck/labels.py): "
                          f"{lang.lower()}/index.html uses English labels")
        prefix = "" if lang == "EN" else "../"
        out_path = "index.html" if lang == "EN" else f"{lang.lower()}/index.html"
        switch = [{"code": l.lower(), "href": prefix + ("index.html" if l == "EN" else f"{l.lower()}/index.html")}
                  for l in languages]
        decks = []
        for stem, d in sorted(summaries.items(), key=lambda kv: kv[1]["title"].lower()):
            href = prefix + quote(d["html"])        # a `#` or `?` in a deck's name is part of the file name
            parts = []
            for p in d["parts"]:
                chapters = []
                for i in p["chapters"]:
                    ch = d["chapters"][i]
                    if not ch["titles"]:
                        continue
                    topics = [Markup(_topic(md, t, caches)) for t in ch["topics"].get(lang, [])]
                    # every `# ` title of the file has its own title slide: list each one,
                    # the file's topics under the first
                    for k, title in enumerate(ch["titles"]):
                        chapters.append({"title": title, "href": f"{href}#{anchor(title)}",
                                         "topics": topics if k == 0 else [], "untranslated": not topics})
                parts.append({"number": p["number"], "chapters": chapters})
            decks.append({"title": d["title"], "href": href, "count": d["slides"], "parts": parts})
        pages[out_path] = env.get_template("index.html.j2").render(
            lang=lang.lower(), languages=switch, assets=prefix + "assets", decks=decks, labels=labels(lang))
    return pages


def _first_topic_source(summaries: dict[str, dict], lang: str) -> str:
    """The first chapter with a `:XX:` line in `lang` (where the warning points)."""
    for d in summaries.values():
        for ch in d["chapters"]:
            if lang in ch["topics"]:
                return ch["source"]
    return "build.json"


def _topic(md, text: str, caches: Caches) -> str:
    html = caches.topics.get(text)
    if html is None:
        html = caches.topics.remember(text, md.renderInline(text))
    return html
