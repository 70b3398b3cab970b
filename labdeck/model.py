"""The deck model: plain objects that every stage after parsing reads.

manifest → chapters → slides → render → write. Labs, checks and watch never
re-parse Markdown: they read these objects, or build.json, their serialisation
(summary(), dumps(); read back by load_summaries(), the one reader).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

BUILD_JSON = "build.json"       # dist/build.json: every built deck's summary (summary() below)


@dataclass(frozen=True)
class Position:
    """Where something came from: a path relative to the source root, 1-based line."""
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class LabStep:
    """One step of a `.lab[` block: a fenced block or a hidden `<!-- ```x y``` -->`."""
    directive: str          # bash, hide, wait, longwait, key, keys, copy, paste, check, open, tmux
    text: str               # the command / argument, cleaned as it would be typed
    pos: Position
    hidden: bool = False    # came from an HTML comment (not shown on the slide)
    placeholder: bool = False  # contains a highlighted placeholder the learner must replace
    placeholders: list[str] = field(default_factory=list)   # their names (`IP-ADDRESS`, ...)


@dataclass
class LabBlock:
    pos: Position
    steps: list[LabStep] = field(default_factory=list)
    # what makes its script unguessable (an unclosed fence...): errors for the
    # labs commands, not for the deck build (remark still shows the slide)
    errors: list = field(default_factory=list)


@dataclass
class Slide:
    """One slide as remark shows it: every `--` step is a Slide of its own."""
    number: int                     # 1-based position in the deck (remark's index + 1)
    pos: Position                   # where this step's own text starts
    name: str | None
    classes: list[str]
    properties: dict[str, str]
    markdown: str                   # Markdown shown (template/previous steps included)
    notes: str                      # presenter notes (Markdown)
    step: int = 0                   # 0 = first step of a slide, n = n-th `--` continuation
    counted: bool = True            # count: false slides are shown but not numbered
    display_number: int = 0         # the number shown on the slide (remark's counting)
    topics: dict[str, list[str]] = field(default_factory=dict)   # "EN" -> ["topic", ...]
    labs: list[LabBlock] = field(default_factory=list)
    # what rendering reads: remark's content trees (str | remark.ContentClass) of
    # `markdown` and `notes`, their offsets kept (not in build.json)
    content: list = field(default_factory=list, repr=False, compare=False)
    notes_content: list = field(default_factory=list, repr=False, compare=False)
    html: str = ""                  # rendered content (filled by render)
    notes_html: str = ""


@dataclass
class Chapter:
    """One `content` item: a file or an inline fragment."""
    source: str                     # path relative to the source root, or "<manifest>:line"
    titles: list[str] = field(default_factory=list)   # `# ` lines, in order
    slides: list[Slide] = field(default_factory=list)
    topics: dict[str, list[str]] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.titles[0] if self.titles else ""


@dataclass
class Part:
    number: int                     # 1-based
    chapters: list[Chapter] = field(default_factory=list)

    @property
    def titles(self) -> list[str]:
        return [t for c in self.chapters for t in c.titles]


@dataclass
class Deck:
    manifest: Path                  # the manifest file
    stem: str                       # dist/<stem>.html
    title: str
    values: dict                    # manifest values used by @@X@@ (title, chat, ...)
    chapters: list[Chapter] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    slides: list[Slide] = field(default_factory=list)
    links: dict[str, tuple[str, str | None]] = field(default_factory=dict)   # deck-wide reference links: label -> (href, title)
    assets: dict[str, Path] = field(default_factory=dict)  # dist-relative path -> source file
    exclude: list[str] = field(default_factory=list)
    root: Path | None = None        # the source root chapters and images are resolved against
    manifest_rel: str = ""          # the manifest as named in diagnostics
    dependencies: set[Path] = field(default_factory=set)   # every file read to build it (for watch)
    absent_inputs: set[Path] = field(default_factory=set)  # files that would change it by appearing
    theme: object = None            # labdeck.theme.Theme (None: the default theme)
    stylesheets: dict[str, str] = field(default_factory=dict)   # dist path -> the authors' CSS (`css:`)
    stylesheet_links: list[str] = field(default_factory=list)   # their URLs in the page, in order

    @property
    def html_name(self) -> str:
        return f"{self.stem}.html"


# ---- build.json: the model's serialisation, for the stages that run after a build ----

def summary(deck: Deck, manifest_rel: str) -> dict:
    """The deck's entry in build.json: what labs, checks, pdf, watch and index pages read."""
    from .source import anchor
    chapters = []
    for ch in deck.chapters:
        chapters.append({"source": ch.source, "title": ch.title, "titles": ch.titles,
                         "first_slide": ch.slides[0].number if ch.slides else None,
                         "anchor": anchor(ch.title) if ch.title else None, "topics": ch.topics})
    index_of = {id(ch): i for i, ch in enumerate(deck.chapters)}
    return {
        "manifest": manifest_rel, "html": deck.html_name, "title": deck.title,
        "slides": len(deck.slides), "exclude": deck.exclude,
        "parts": [{"number": p.number, "chapters": [index_of[id(c)] for c in p.chapters]} for p in deck.parts],
        "chapters": chapters,
        "slide_list": [{"number": s.number, "source": s.pos.path, "line": s.pos.line, "name": s.name,
                        "classes": s.classes, "step": s.step} for s in deck.slides],
    }


def dumps(summaries: dict[str, dict]) -> str:
    """build.json's text. No indent: json's C encoder only runs on compact output
    (4x faster on 8,000 slides)."""
    return json.dumps({"version": 1, "decks": summaries}, ensure_ascii=False, separators=(",", ":"))


def load_summaries(out: Path) -> dict[str, dict]:
    """The decks built into `out`: stem → summary() (the one reader of build.json).
    Raises OSError when there is none, ValueError when it is not ours."""
    data = json.loads((Path(out) / BUILD_JSON).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("decks"), dict):
        raise ValueError(f"{Path(out) / BUILD_JSON}: not a labdeck build.json")
    return data["decks"]
