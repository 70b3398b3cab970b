"""The real-world corpus (container.training's 8 decks) builds with remark's slide counts.

The corpus is test data only: it is read where it lies and the suite skips
when it is absent. The 8 decks are built once per session (a fresh cache in
tmp, so nothing is shared with other tests or runs)."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from labdeck.build import build

from shared import CORPUS

# Slide counts remark 0.14.1 shows for each deck (getSlideCount() in the original pages).
EXPECTED = {
    "kadm-fullday": 464,
    "kadm-twodays": 1184,
    "kube-adv": 1094,
    "kube-fullday": 648,
    "kube-halfday": 517,
    "kube-selfpaced": 2653,
    "kube-twodays": 1264,
    "mlops": 312,
}

_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
_URL = re.compile(r"""url\(\s*(?:&#39;|&quot;|['"])?([^'")&]+)""")
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)


@pytest.fixture(scope="module")
def corpus_build(tmp_path_factory):
    manifests = [CORPUS / f"{stem}.yml" for stem in EXPECTED]
    missing = [m for m in manifests if not m.is_file()]
    if missing:
        pytest.skip(f"container.training corpus absent (no {missing[0]}): nothing to build")
    base = tmp_path_factory.mktemp("corpus")
    out = base / "dist"
    result = build(manifests, out, quiet=True, cache_dir=base / "cache")
    data = json.loads((out / "build.json").read_text(encoding="utf-8"))
    return result, out, data


def test_corpus_builds_without_errors(corpus_build):
    result, _, _ = corpus_build
    assert result.ok, result.failed
    assert [str(d) for d in result.diagnostics.errors] == []
    assert sorted(result.decks) == sorted(EXPECTED)


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_corpus_slide_counts_match_remark(corpus_build, stem):
    _, out, data = corpus_build
    deck = data["decks"][stem]
    assert deck["slides"] == EXPECTED[stem]
    assert len(deck["slide_list"]) == EXPECTED[stem]
    assert [s["number"] for s in deck["slide_list"]] == list(range(1, EXPECTED[stem] + 1))
    assert (out / deck["html"]).is_file()
    page = (out / deck["html"]).read_text(encoding="utf-8")
    assert page.count('class="remark-slide-container"') == EXPECTED[stem]


def _local_refs(page: str) -> list[str]:
    refs = [a or b for a, b in _SRC.findall(page)] + _URL.findall(page)
    out = []
    for ref in refs:
        ref = html.unescape(ref).split("#")[0].split("?")[0]
        if ref and not ref.startswith("data:") and not _REMOTE.match(ref):
            out.append(ref)
    return out


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_corpus_every_local_image_is_in_dist(corpus_build, stem):
    _, out, data = corpus_build
    page = (out / data["decks"][stem]["html"]).read_text(encoding="utf-8")
    refs = _local_refs(page)
    assert refs, "the corpus decks show local images: finding none means the check is broken"
    missing = sorted({r for r in refs if not (out / unquote(r)).is_file()})
    assert missing == []
    # only relative references: nothing points at the source tree or the file system
    assert not [r for r in refs if r.startswith("/")]


def test_corpus_deck_plays_with_the_same_count_in_chromium(corpus_build, browser):
    _, out, data = corpus_build
    deck = data["decks"]["kube-halfday"]
    page = browser.new_page()
    try:
        page.goto((out / deck["html"]).as_uri())
        page.wait_for_function("window.slideshow !== undefined")
        assert page.evaluate("slideshow.getSlideCount()") == deck["slides"] == EXPECTED["kube-halfday"]
    finally:
        page.close()
