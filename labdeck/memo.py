"""The memo tables of a build or a watch session, in one object.

They make a deck that shares chapters with another, or a rebuild in watch
mode, skip work already done (parsed chapters, render keys, line offsets...).
A build makes a `Caches` (or is given one) and hands it down: to `Sources`,
which every chapter it loads carries (`ChapterSource.caches`), so parsing
reaches it through the chapters; to the renderer and the page assembly. A
watch session owns one for its whole life: its state is here to see, and
`caches.clear()` forgets it all. Every key is the whole input of what is
remembered (a text, not a file name), so a changed file can never be served
stale: it is a new key.

A watch session edits for hours: each table is emptied when full, so memory
stays bounded. Forked render workers (markdown.RenderQueue) read none of them.
Module-level lru_caches remain only on pure functions of immutable inputs
(markdown._lexer, slides._classes): a global is right for those.
"""
from __future__ import annotations


class Table(dict):
    """One memo table, emptied when it reaches `limit` entries."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def remember(self, key, value):
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


class Caches:
    """Every memo table of a build or a watch session (see the module comment)."""

    def __init__(self):
        # source.py
        self.line_starts = Table(20_000)    # chapter text → offsets of its lines
        self.titles = Table(20_000)         # chapter text → its `# ` lines
        self.realpaths = Table(5_000)       # path → os.path.realpath (for one build: Sources clears it)
        self.expanded = Table(5_000)        # (chapter text, values...) → text after @@ strings and includes
        # slides.py
        self.parsed = Table(2_000)          # chapter text → remark's parsed slides
        self.fences_ok = Table(2_000)       # chapter texts whose fences were checked and found fine
        self.untopical = Table(20_000)      # notes text → the same without `:XX:` lines
        self.lab_blocks = Table(20_000)     # (block text, path, line) → (LabBlock, its warnings)
        # markdown.py
        self.render_keys = Table(50_000)    # (text, inside, link table) → (store key, links used)
        self.trees = Table(50_000)          # ids of a content tree's items → (the items, store key, links used)
        # render.py
        self.image_refs = Table(20_000)     # slide HTML → the local files it loads
        self.markup = Table(20_000)         # a slide's fields → its container's HTML around its numbers
        self.topics = Table(5_000)          # `:XX:` line text → inline HTML
        # build.py
        self.summaries = Table(100)         # build.json path → ((mtime, size), the decks it lists)

    def tables(self) -> dict[str, Table]:
        return {name: t for name, t in vars(self).items() if isinstance(t, Table)}

    def clear(self) -> None:
        for t in self.tables().values():
            t.clear()

    def sizes(self) -> dict[str, int]:
        return {name: len(t) for name, t in self.tables().items()}
