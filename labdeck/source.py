"""Load a manifest's chapters and do markmaker's generation.

- chapter files and inline fragments, `@@X@@` strings, `@@INCLUDE[..]`,
  `@@LINK[..]` (with the origin of every line kept for diagnostics);
- `# ` title lines → parts, `@@TOC@@` slides, and the Markdown of the picture
  + title slides markmaker inserts before the slide holding each title
  (`add_title_slides`; slides.py parses it and puts it in place).

The chapters leave here finished: text, line positions, titles, generated
slides. Nothing later asks this module for more.
"""
from __future__ import annotations

import bisect
import os
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from .diagnostics import BuildError, Diagnostics
from .memo import Caches
from .model import Position

if TYPE_CHECKING:
    from .manifest import ContentItem, Manifest

_NEWLINE = re.compile(r"\n")
TITLE_LINE = re.compile(r"^# (.*)", re.M)
_INCLUDE = re.compile(r"@@INCLUDE\[([^\]]*)\]")
_LINK = re.compile(r"@@LINK\[([^\]]*)\]")


def anchor(title: str) -> str:
    """markmaker's anchor: lower-case, spaces → '-', keep ASCII letters and '-'."""
    title = title.lower().replace(" ", "-")
    return "toc-" + "".join(c for c in title if c in string.ascii_letters + "-")


@dataclass
class ChapterSource:
    source: str                     # path relative to the source root, or "manifest.yml" for inline text
    file: Path | None               # the chapter file (None for inline fragments)
    text: str                       # after @@ substitutions
    first_line: int                 # source line of text's first line
    part: int | None                # 1-based part number, None outside parts
    titles: list[tuple[str, int]] = field(default_factory=list)   # (title, offset in text)
    origins: list[tuple[str, int]] | None = None   # (path, line) of every text line, when includes moved lines
    dependencies: set[Path] = field(default_factory=set)          # files read to make this text
    linked: dict[str, Path] = field(default_factory=dict)         # dist path -> file, for @@LINK
    title_slides: list[TitleSlides] = field(default_factory=list)  # before the slide holding each title
    # the session's memo tables, handed down with the chapter to every stage that parses it
    caches: Caches = field(default_factory=Caches, repr=False, compare=False)

    def position(self, offset: int) -> tuple[str, int]:
        """Source path and line of an offset in text."""
        starts = self.caches.line_starts.get(self.text)
        if starts is None:
            starts = self.caches.line_starts.remember(self.text, [m.end() for m in _NEWLINE.finditer(self.text)])
        index = bisect.bisect_right(starts, offset)
        if self.origins is not None:
            return self.origins[min(index, len(self.origins) - 1)]
        return self.source, self.first_line + index


@dataclass(frozen=True)
class TitleSlides:
    """The slides markmaker inserts for one title: their Markdown, and where the title is."""
    offset: int                     # the title's offset in the chapter's text
    markdown: str
    pos: Position                   # the title's line: the generated slides' source


def _inside(path: Path, root: Path, caches: Caches) -> bool:
    return os.path.commonpath([real_path(path, caches), real_path(root, caches)]) == real_path(root, caches)


def real_path(path: Path, caches: Caches) -> str:
    """realpath, remembered for the build (hundreds of chapters, each resolved several times)."""
    key = str(path)
    found = caches.realpaths.get(key)
    if found is None:
        found = caches.realpaths.remember(key, os.path.realpath(key))
    return found


class Sources:
    """Reads chapter files once per build (several decks share most chapters), and
    hands the session's memo tables (`caches`) to every chapter it loads."""

    def __init__(self, caches: Caches | None = None):
        self.caches = caches if caches is not None else Caches()
        # symlinks are resolved afresh at each build: one may point elsewhere since the last
        self.caches.realpaths.clear()
        self._texts: dict[Path, str] = {}
        self.remote_images: set[str] = set()     # reported once per build
        self.fetch_remote = None                 # offline.RemoteFetcher with --fetch-remote (build sets it)

    def read(self, path: Path) -> str:
        text = self._texts.get(path)
        if text is None:
            try:
                raw = path.read_bytes()
                text = raw.decode("utf-8").replace("\r\n", "\n").removeprefix("\ufeff")   # a BOM is no text
            except OSError as e:
                raise BuildError(_shown(path), None, f"cannot read: {e.strerror}") from None
            except UnicodeDecodeError as e:
                raise BuildError(_shown(path), raw.count(b"\n", 0, e.start) + 1,
                                 f"not UTF-8 text (byte 0x{raw[e.start]:02x})") from None
            self._texts[path] = text
        return text


def _shown(path: Path) -> str:
    from .manifest import display_path
    return display_path(path)


def _no_tags(value: str) -> str:
    """Manifest values go into slides as text: no tags, and no quote that could end an
    attribute they land in (`href="@@SLIDES@@"`); entities such as &mdash; still work."""
    return value.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").replace("'", "&#39;")


def _substitute(text: str, values: dict) -> str:
    # markmaker's order: plain strings first, then links and includes.
    if "@@" not in text:
        return text
    for key in ("CHAT", "GITREPO", "SLIDES", "ZIP", "HTML"):
        text = text.replace(f"@@{key}@@", _no_tags(values.get(key.lower(), "")))
    return text.replace("@@TITLE@@", _no_tags(values.get("title", "")).replace("\n", "<br/>"))


def _expand_lines(chapter: ChapterSource, values: dict, root: Path, sources: Sources, diags: Diagnostics) -> None:
    """@@ strings, @@LINK and @@INCLUDE; remembered per chapter text (decks share
    chapters, watch mode rebuilds them), checked against the included files' text."""
    chapter.text = _substitute(chapter.text, values)
    # keyed by the text after the @@ strings: decks with other titles share the rest
    key = (chapter.text, chapter.source, chapter.first_line, str(root))
    hit = sources.caches.expanded.get(key)
    if hit is not None and all(sources.read(p) == t for p, t in hit[4]):
        chapter.text, chapter.origins = hit[0], hit[1]
        chapter.dependencies.update(hit[2])
        chapter.linked.update(hit[3])
        return
    includes = _expand_uncached(chapter, root, sources)
    included = [(p, sources.read(p)) for p in includes]
    sources.caches.expanded.remember(key, (chapter.text, chapter.origins, set(chapter.dependencies),
                                           dict(chapter.linked), included))


def _expand_uncached(chapter: ChapterSource, root: Path, sources: Sources) -> list[Path]:
    """@@LINK and @@INCLUDE, line by line so every output line keeps its origin.
    Returns the included files."""
    text = chapter.text
    includes: list[Path] = []
    if "@@INCLUDE[" not in text and "@@LINK[" not in text:
        return includes
    base = Path(real_path(root, sources.caches)).parent       # the folder above the source root, even when root is "."
    lines, origins = _expand_text(text, chapter.source, chapter.first_line, base, sources, chapter, includes, [])
    chapter.text = "\n".join(lines)
    chapter.origins = origins
    return includes


MAX_INCLUDE_DEPTH = 16      # @@INCLUDE inside included files, this many levels at most


def _expand_text(text: str, source: str, first_line: int, base: Path, sources: Sources, chapter: ChapterSource,
                 includes: list[Path], stack: list[str]) -> tuple[list[str], list[tuple[str, int]]]:
    """The lines of `text` with its links and includes (several on a line, and the
    includes of included files) done, and the (path, line) each came from."""
    out: list[str] = []
    origins: list[tuple[str, int]] = []
    for n, line in enumerate(text.split("\n")):
        where = (source, first_line + n)
        links = {}
        for m in _LINK.finditer(line):
            target = _resolve(base, m.group(1), where, "@@LINK", sources.caches)
            # the copy's name is the file's normalised place under the base: never a `..` out of files/
            links[m.group(1)] = "files/" + Path(os.path.relpath(real_path(target, sources.caches), base)).as_posix()
            chapter.linked[links[m.group(1)]] = target
        if links:
            line = _LINK.sub(lambda m: f"[{m.group(1)}]({links[m.group(1)]})", line)
        if "@@INCLUDE[" not in line:
            out.append(line)
            origins.append(where)
            continue
        current, current_origin, pos = "", where, 0
        for m in _INCLUDE.finditer(line):
            target = _resolve(base, m.group(1), where, "@@INCLUDE", sources.caches)
            real = real_path(target, sources.caches)
            if real in stack:
                raise BuildError(where[0], where[1], f"@@INCLUDE[{m.group(1)}] includes itself")
            if len(stack) >= MAX_INCLUDE_DEPTH:
                raise BuildError(where[0], where[1], f"@@INCLUDE[{m.group(1)}]: includes nested more than "
                                                     f"{MAX_INCLUDE_DEPTH} deep")
            chapter.dependencies.add(Path(real))
            includes.append(target)
            sub, sub_origins = _expand_text(sources.read(target), m.group(1), 1, base, sources, chapter,
                                            includes, stack + [real])
            prefix = line[pos:m.start()]
            if not current and not prefix.strip():
                current_origin = sub_origins[0]     # the line is the included file's first line
            current += prefix + sub[0]
            if len(sub) > 1:
                out.append(current)
                origins.append(current_origin)
                out.extend(sub[1:-1])
                origins.extend(sub_origins[1:-1])
                current, current_origin = sub[-1], sub_origins[-1]
            pos = m.end()
        out.append(current + line[pos:])
        origins.append(current_origin)
    return out, origins


def _resolve(base: Path, name: str, where: tuple[str, int], what: str, caches: Caches) -> Path:
    target = base / name
    if not _inside(target, base, caches):
        raise BuildError(where[0], where[1], f"{what}[{name}] escapes the source folder {base}")
    if not target.is_file():
        raise BuildError(where[0], where[1], f"{what}[{name}]: file not found")
    return target


def _follow_text_symlink(path: Path, rel: str, root: Path, sources: Sources) -> tuple[Path, str]:
    """A git symlink checked out as a plain file holds just its target's name
    (core.symlinks=false, or a copy made without links): follow it like git would."""
    text = sources.read(path)
    if path.stat().st_size < 256 and "\n" not in text.strip() and text.strip().endswith(".md"):
        target = path.parent / text.strip()
        if target.is_file() and _inside(target, root, sources.caches) and target.resolve() != path.resolve():
            return target, str(Path(rel).parent / text.strip()).removeprefix("./")
    return path, rel


def load_chapters(manifest: Manifest, root: Path, sources: Sources, diags: Diagnostics) -> list[ChapterSource]:
    """The deck's chapters in order, with their parts (markmaker's rules)."""
    values = manifest.values
    chapters: list[ChapterSource] = []
    part = 0

    def load(item: ContentItem, part_no: int | None) -> list[ChapterSource]:
        if item.is_group:
            return [c for child in item.children for c in load(child, part_no)]
        if item.text is not None:
            # named from the source root, like chapters: the page must not depend on where the build ran
            ch = ChapterSource(Path(os.path.relpath(manifest.path, root)).as_posix(), None, item.text, item.line,
                               part_no, caches=sources.caches)
        else:
            path = root / item.path
            if not _inside(path, root, sources.caches):
                raise BuildError(manifest.rel, item.line, f"chapter '{item.path}' is outside the source folder {root}")
            if not path.is_file():
                raise BuildError(manifest.rel, item.line, f"chapter '{item.path}' not found")
            path, rel = _follow_text_symlink(path, item.path, root, sources)
            ch = ChapterSource(rel, path, sources.read(path), 1, part_no, caches=sources.caches)
            ch.dependencies.add(Path(real_path(path, sources.caches)))
        _expand_lines(ch, values, root, sources, diags)
        ch.titles = titles_of(ch.text, sources.caches)
        return [ch]

    for item in manifest.content:
        loaded = load(item, None)
        if any(c.titles for c in loaded):
            part += 1
            for c in loaded:
                c.part = part
        chapters.extend(loaded)
    return chapters


def titles_of(text: str, caches: Caches) -> list[tuple[str, int]]:
    """`# ` lines: (title, offset). Every one is a chapter title, even in code (markmaker's rule)."""
    found = caches.titles.get(text)
    if found is None:
        found = caches.titles.remember(text, [(m.group(1), m.start()) for m in TITLE_LINE.finditer(text)])
    return found


def toc_markdown(chapters: list[ChapterSource]) -> str:
    """@@TOC@@: one slide per part, listing its titles."""
    parts: dict[int, list[str]] = {}
    for c in chapters:
        if c.part is not None:
            parts.setdefault(c.part, []).extend(t for t, _ in c.titles)
    slides = []
    for number, titles in parts.items():
        head = "Table of contents" if len(parts) == 1 else f"Part {number}"
        # markmaker spaces the items out only when there are fewer than 10 (a loose list)
        gap = "\n\n" if len(titles) < 10 else "\n"
        items = "".join(f"- [{t}](#{anchor(t)}){gap}" for t in titles)
        slides.append(f"name: toc-part-{number}\nclass: toc\n\n## {head}\n\n{items}")
    return "\n---\n".join(slides)


def add_title_slides(chapters: list[ChapterSource], interstitials: Interstitials) -> None:
    """What needs the whole deck: @@TOC@@ replaced by the table of contents, then the
    Markdown of every title's generated slides (each linking to the titles around it)."""
    has_toc = any("@@TOC@@" in c.text for c in chapters)
    if has_toc:
        toc = toc_markdown(chapters)
        for ch in chapters:
            if "@@TOC@@" in ch.text:
                _replace_toc(ch, toc)
    all_titles = [t for c in chapters for t, _ in c.titles]
    k = 0
    for ch in chapters:
        toc_name = f"toc-part-{ch.part}" if has_toc else None     # link only to slides that exist
        for title, offset in ch.titles:
            previous = anchor(all_titles[k - 1]) if k > 0 else toc_name
            following = anchor(all_titles[k + 1]) if k + 1 < len(all_titles) else toc_name
            k += 1
            md = title_slides_markdown(title, previous, toc_name, following, interstitials.next())
            ch.title_slides.append(TitleSlides(offset, md, Position(*ch.position(offset))))


def _replace_toc(ch: ChapterSource, toc: str) -> None:
    """Replace @@TOC@@ and keep every line's origin (TOC lines point at @@TOC@@)."""
    lines = ch.text.split("\n")
    origins = ch.origins or [(ch.source, ch.first_line + i) for i in range(len(lines))]
    out, out_origins = [], []
    for line, origin in zip(lines, origins):
        if "@@TOC@@" in line:
            new = line.replace("@@TOC@@", toc).split("\n")
            out.extend(new)
            out_origins.extend([origin] * len(new))
        else:
            out.append(line)
            out_origins.append(origin)
    ch.origins = out_origins
    ch.text = "\n".join(out)
    ch.titles = titles_of(ch.text, ch.caches)


class Interstitials:
    """interstitials.txt next to the manifests: one image URL a line, used in rotation."""

    def __init__(self, folder: Path, sources: Sources):
        path = folder / "interstitials.txt"
        self.path = path if path.is_file() else None
        self.images = [u.strip() for u in sources.read(path).splitlines() if u.strip()] if self.path else []
        self.index = 0

    def next(self) -> str | None:
        if not self.images:
            return None
        image = self.images[self.index % len(self.images)]
        self.index += 1
        return image


def title_slides_markdown(title: str, previous: str | None, toc: str | None, following: str | None,
                          image: str | None) -> str:
    """The slides markmaker inserts before the slide holding a title: a picture, then the title.
    Its links name only slides that exist: no table-of-contents link without @@TOC@@, no
    previous link before the first title, no next link after the last (then None)."""
    # Without interstitials.txt there is no picture to show: no picture slide either.
    pic = (f"class: pic\n\n.interstitial[![Image separating from the next part]({image})]\n\n---\n\n"
           if image else "")
    links = [f"[{label}](#{target})" for label, target in
             (("Previous part", previous), ("Back to table of contents", toc), ("Next part", following)) if target]
    nav = ".nav[\n" + "\n|\n".join(links) + "\n]\n" if links else ""
    return f"{pic}name: {anchor(title)}\nclass: title\n\n {title}\n\n{nav}"
