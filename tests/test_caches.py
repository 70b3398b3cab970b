"""The memo tables of a session live in one object (labdeck/memo.py): a build
fills the one it is given, leaves no module-level table behind, and a rebuild
after an edit shows the edit."""
from __future__ import annotations

import sys

from labdeck.build import build
from labdeck.memo import Caches

PIPELINE = ("labdeck.source", "labdeck.slides", "labdeck.markdown", "labdeck.render", "labdeck.build",
            "labdeck.remark", "labdeck.lab_blocks", "labdeck.memo")


def module_dict_sizes() -> dict[str, int]:
    """Every dict held by a pipeline module's globals (constant tables and memo tables alike)."""
    return {f"{name}.{attr}": len(value) for name in PIPELINE if name in sys.modules
            for attr, value in vars(sys.modules[name]).items() if isinstance(value, dict)}


def test_a_build_fills_the_caches_it_is_given_and_no_module_table(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.md").write_text("# Chapter\n\n## First\n\nText `code`\n\n???\n\n:EN:- a topic\n\n---\n\n"
                              "## Lab\n\n.lab[\n```bash\nls\n```\n]\n", encoding="utf-8")
    (src / "one.yml").write_text("title: One\ncontent:\n- a.md\n", encoding="utf-8")
    out, cache = tmp_path / "dist", tmp_path / "cache"
    caches = Caches()
    assert build([src / "one.yml"], out, quiet=True, cache_dir=cache, caches=caches).ok   # modules loaded
    caches.clear()
    before = module_dict_sizes()
    assert build([src / "one.yml"], out, quiet=True, cache_dir=cache, caches=caches, force=True).ok
    assert module_dict_sizes() == before          # nothing remembered outside the object
    sizes = caches.sizes()
    for table in ("line_starts", "titles", "parsed", "fences_ok", "lab_blocks", "render_keys", "trees",
                  "markup", "topics", "summaries"):
        assert sizes[table] > 0, (table, sizes)

    # the same session after an edit: the new text is shown, not a remembered one
    (src / "a.md").write_text("# Chapter\n\n## First\n\nEdited words\n", encoding="utf-8")
    assert build([src / "one.yml"], out, quiet=True, cache_dir=cache, caches=caches).ok
    page = (out / "one.html").read_text(encoding="utf-8")
    assert "Edited words" in page and "<code>code</code>" not in page

    caches.clear()
    assert set(caches.sizes().values()) == {0}


def test_a_watch_session_owns_its_caches(tmp_path):
    from labdeck.serve.watch import Watcher
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.md").write_text("## Hello\n", encoding="utf-8")
    (src / "one.yml").write_text("title: One\ncontent:\n- a.md\n", encoding="utf-8")
    session = Watcher([src / "one.yml"], tmp_path / "dist")
    other = Watcher([src / "one.yml"], tmp_path / "dist2")
    assert session.caches is not other.caches
    session.build(session.manifests, force=True)
    assert session.caches.sizes()["parsed"] > 0 and other.caches.sizes()["parsed"] == 0


def test_a_repointed_chapter_symlink_is_followed_in_the_same_session(tmp_path):
    """A watch session keeps its caches: a chapter symlink pointed at another file is read,
    and depended on, from its new target at the next build."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.md").write_text("## From a\n", encoding="utf-8")
    (src / "b.md").write_text("## From b\n", encoding="utf-8")
    (src / "ch.md").symlink_to("a.md")
    (src / "one.yml").write_text("title: One\ncontent:\n- ch.md\n", encoding="utf-8")
    out, cache, caches = tmp_path / "dist", tmp_path / "cache", Caches()
    first = build([src / "one.yml"], out, quiet=True, cache_dir=cache, caches=caches)
    assert first.ok and (src / "a.md").resolve() in first.decks["one"].dependencies
    (src / "ch.md").unlink()
    (src / "ch.md").symlink_to("b.md")
    second = build([src / "one.yml"], out, quiet=True, cache_dir=cache, caches=caches, force=True)
    assert second.ok
    assert (src / "b.md").resolve() in second.decks["one"].dependencies
    assert (src / "a.md").resolve() not in second.decks["one"].dependencies
    assert "From b" in (out / "one.html").read_text()


def test_decks_sharing_a_chapter_each_get_their_own_manifest_strings(tmp_path):
    """The expansion memo is shared by the decks of a build: a chapter naming @@TITLE@@
    and including a file shows each deck's own title, and both include the file."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "part.md").write_text("Included words\n", encoding="utf-8")
    (src / "a.md").write_text("## Deck @@TITLE@@\n\n@@INCLUDE[src/part.md]\n\n---\n\n## Plain\n", encoding="utf-8")
    (src / "one.yml").write_text("title: First deck\ncontent:\n- a.md\n", encoding="utf-8")
    (src / "two.yml").write_text("title: Second deck\ncontent:\n- a.md\n", encoding="utf-8")
    out = tmp_path / "dist"
    result = build([src / "one.yml", src / "two.yml"], out, quiet=True, cache_dir=tmp_path / "cache")
    assert result.ok, result.diagnostics
    for stem, title, other in (("one", "First deck", "Second deck"), ("two", "Second deck", "First deck")):
        page = (out / f"{stem}.html").read_text(encoding="utf-8")
        assert f"Deck {title}" in page and f"Deck {other}" not in page
        assert "Included words" in page
        assert (src / "part.md").resolve() in result.decks[stem].dependencies


def test_a_build_runs_without_cycle_collections_and_restores_the_collector(tmp_path):
    """build() pauses Python's cycle collector (a build keeps its objects until it ends
    and makes no cyclic garbage) and leaves it as it found it."""
    import gc
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.md").write_text("\n---\n\n".join(f"## Slide {n}\n\n- one\n- two `x`\n" for n in range(300)),
                              encoding="utf-8")
    (src / "one.yml").write_text("title: One\ncontent:\n- a.md\n", encoding="utf-8")
    from labdeck.build import _build
    collections = []        # collections that started while _build was on the stack

    def callback(phase, info):
        frame = sys._getframe()
        while frame is not None and frame.f_code is not _build.__code__:
            frame = frame.f_back
        if phase == "start" and frame is not None:
            collections.append(info["generation"])

    gc.callbacks.append(callback)
    try:
        assert gc.isenabled()
        assert build([src / "one.yml"], tmp_path / "dist", quiet=True, cache_dir=tmp_path / "cache").ok
        assert collections == [] and gc.isenabled()
        gc.disable()            # a caller that turned it off keeps it off
        assert build([src / "one.yml"], tmp_path / "dist", quiet=True, cache_dir=tmp_path / "cache",
                     force=True).ok
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.callbacks.remove(callback)
