"""Fuzzing the build (issue 11): generated decks and mutated chapters of the
corpus. Every case must end in a written deck or in located error lines, within
a time bound that grows with the input's size; never an exception, never a
write outside the output folder. Watch mode is fed the same kind of cases and
must keep serving.

Bounded for CI (about a minute); LABDECK_FUZZ_EXAMPLES=2000 runs longer.
"""
from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from labdeck.build import build

from shared import CORPUS

EXAMPLES = int(os.environ.get("LABDECK_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not os.environ.get("LABDECK_FUZZ_EXAMPLES"),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

# Pieces of remark/markmaker syntax, right and wrong, and characters that once broke things.
VOCAB = [
    "\n", "\n\n", "\n---\n", "\n--\n", "\n???\n", ".lab[", ".a.b[", ".x[", "]", "[", "(", ")", "`", "``",
    "\n```\n", "\n```bash\n", "\n~~~\n", "\n    indented code\n", "class: x, extra-details\n", "name: n\n",
    "layout: true\n", "template: n\n", "exclude: true\n", "count: false\n", "background-image: url(x.png)\n",
    "\n# A title\n", "## Sub\n", "@@TITLE@@", "@@ZIP@@", "@@SLIDES@@", "@@HTML@@", "@@TOC@@",
    "@@INCLUDE[nowhere.md]", "@@LINK[nowhere.sh]", "![pic](images/none.png)", "![:scale 50%](x.png)", "![:x ",
    "\n[label]: http://example.org \"t\"\n", "[label]", "[a](#n)", ":EN:- a topic\n", ":FR:- un sujet\n",
    "<!-- ```wait x``` -->", "<!-- class: y -->", "<div>", "</div>", "<p>", "\ue000", "\ue001", "\ue0000\ue001",
    "0", "\ufeff", "\\", "\\.a[x]", "*", "_", "<", ">", "&", "&mdash;", "\"", "'", "\n- item\n", "\n1. item\n",
    "\n> quote\n", "\n|a|b|\n|-|-|\n|1|2|\n", "\t", " ", "é", "\r\n", "\x00", "\x1b", "%", "#", "?", "`x`",
    "```\n`a` b\n```",
]
chapter_text = st.lists(st.one_of(st.sampled_from(VOCAB), st.text(max_size=8)), max_size=80).map("".join)

MANIFEST_LINES = [
    "title: Fuzzed", "title: |\n  Two\n  lines", "title: yes", "title: 2024-01-01", "title: [a]", "zip: [a]",
    "html: 5", "html: {a: 1}", "slides: 'x\" onmouseover=\"y'", "slidenumberprefix: '<b>&mdash;'",
    "exclude: [extra-details]", "exclude: 5", "exclude: [[a]]", "chat: ~", "gitrepo: 3.5", "unknown: 1",
    "x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\ny: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "z: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nw: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
]
CONTENT_LINES = [
    "content:\n- a.md", "content:\n- a.md\n- - a.md\n  - b.md", "content: &c\n- a.md\n- *c", "content: []",
    "content: a.md", "content:\n- missing.md", "content:\n- ../escape.md", "content:\n- |\n  ## Inline\n\n  text",
    "content:\n- " + "[" * 60 + "a.md" + "]" * 60, "content:\n- {a: 1}",
]


def _files(base: Path) -> set[Path]:
    return {p for p in base.rglob("*")}


def check_case(base: Path, manifest: Path, size: int, source_root: Path | None = None) -> None:
    """One build: HTML, or located errors; in bounded time; nothing written outside out/."""
    out, cache = base / "out", base / "cache"
    before = _files(base)
    started = time.monotonic()
    result = build([manifest], out, source_root=source_root, quiet=True, cache_dir=cache)   # raises = failure
    took = time.monotonic() - started
    # Generous for a loaded 2-core machine: what it catches is a quadratic or a hang.
    assert took < 20 + size / 2_000, f"{took:.1f}s for {size:,} characters"
    outside = [p for p in _files(base) - before if out not in p.parents and cache not in p.parents
               and p not in (out, cache)]
    assert not outside, outside
    if result.ok:
        assert (out / f"{manifest.stem}.html").is_file()
        return
    errors = result.diagnostics.errors
    assert errors, "a failed build says why"
    for e in errors:
        assert e.path and "internal error" not in e.message and "Traceback" not in e.message, str(e)


@FUZZ
@example(manifest_lines=[], content="content:\n- a.md", a="x \ue00007\ue001 .a[b]", b="")   # once an IndexError
@example(manifest_lines=["zip: [a]"], content="content:\n- a.md", a="@@ZIP@@", b="")       # once a TypeError
@example(manifest_lines=[], content="content: &c\n- a.md\n- *c", a="", b="")             # once a RecursionError
@example(manifest_lines=[], content="content:\n- a.md", a=".a[" * 2000 + "]" * 2000, b="")
@given(manifest_lines=st.lists(st.sampled_from(MANIFEST_LINES), max_size=4),
       content=st.sampled_from(CONTENT_LINES), a=chapter_text, b=chapter_text)
def test_generated_decks_build_or_fail_with_located_errors(tmp_path_factory, manifest_lines, content, a, b):
    base = tmp_path_factory.mktemp("fuzz")
    slides = base / "slides"
    slides.mkdir()
    manifest = slides / "deck.yml"
    manifest.write_text("\n".join(manifest_lines + [content]) + "\n", encoding="utf-8")
    (slides / "a.md").write_text(a, encoding="utf-8", newline="")
    (slides / "b.md").write_text(b, encoding="utf-8", newline="")
    check_case(base, manifest, len(a) + len(b))


def corpus_chapters() -> list[Path]:
    return sorted(CORPUS.rglob("*.md")) if CORPUS.is_dir() else []


MUTATION = st.tuples(st.sampled_from(["insert", "delete", "duplicate", "truncate", "swap"]),
                     st.floats(0, 1), st.floats(0, 1), st.sampled_from(VOCAB))


def mutate(text: str, mutations) -> str:
    for kind, x, y, piece in mutations:
        i, j = sorted((int(x * len(text)), int(y * len(text))))
        if kind == "insert":
            text = text[:i] + piece + text[i:]
        elif kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif kind == "truncate":
            text = text[:i]
        else:
            text = text[i:j] + text[:i] + text[j:]
    return text


@pytest.mark.skipif(not corpus_chapters(), reason="container.training corpus absent")
@FUZZ
@given(index=st.integers(min_value=0), mutations=st.lists(MUTATION, min_size=1, max_size=6))
def test_mutated_corpus_chapters_build_or_fail_with_located_errors(tmp_path_factory, index, mutations):
    """A mutated chapter, inline in a manifest whose source root is the corpus (its
    images and includes are found, nothing is written there)."""
    chapters = corpus_chapters()
    text = mutate(chapters[index % len(chapters)].read_text(encoding="utf-8"), mutations)
    base = tmp_path_factory.mktemp("mutant")
    manifest = base / "deck.yml"
    manifest.write_text(yaml.safe_dump({"title": "Mutant", "content": ["## Start\n\n" + text + "\n"]},
                                       allow_unicode=True), encoding="utf-8")
    check_case(base, manifest, len(text), source_root=CORPUS)


def test_watch_mode_keeps_serving_through_fuzzed_edits(tmp_path):
    """The same kind of cases, written one after the other into a watched deck:
    every rebuild ends (well or with error lines), the server answers all along."""
    import urllib.request
    from test_watch import Running
    rnd = random.Random(11)
    slides = tmp_path / "slides"
    slides.mkdir()
    (slides / "deck.yml").write_text("title: Watched\ncontent:\n- a.md\n")
    (slides / "a.md").write_text("## Start\n")
    r = Running([slides / "deck.yml"], tmp_path / "dist", serve=True)
    try:
        assert r.wait_build(1)["ok"]
        for k in range(int(os.environ.get("LABDECK_FUZZ_WATCH", "12"))):
            if k % 4 == 3:
                (slides / "deck.yml").write_text("\n".join(rnd.sample(MANIFEST_LINES, 2) + [rnd.choice(CONTENT_LINES)]))
            else:
                (slides / "deck.yml").write_text("title: Watched\ncontent:\n- a.md\n")
                (slides / "a.md").write_text("".join(rnd.choice(VOCAB) for _ in range(rnd.randint(1, 200))),
                                             newline="")
            r.wait_build(k + 2)
            assert r.thread.is_alive()
            with urllib.request.urlopen(r.server.url + "deck.html", timeout=10) as resp:
                assert resp.status == 200
        log = r.stream.getvalue()
        assert "Traceback" not in log and "internal error" not in log, log
    finally:
        r.stop()
