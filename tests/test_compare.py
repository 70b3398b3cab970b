"""`python -m labdeck.compare`: the corpus slides as container.training's own page shows them.

The 8 decks of ../shared are built by markmaker + the reference remark fork
(read where they lie) and by labdeck; each deck must have at least 99.5 % of
its slides identical (what differs only by a deliberate deviation, listed in
docs/deviations.md, counts as identical and is counted apart).
"""
from __future__ import annotations

import subprocess
import sys
import pytest

from labdeck import compare

from shared import CORPUS

DECKS = ["kadm-fullday", "kadm-twodays", "kube-adv", "kube-fullday", "kube-halfday", "kube-selfpaced",
         "kube-twodays", "mlops"]


def facts(**changes) -> dict:
    base = {"classes": ["title"], "structure": "h2 ul[li[p] li[p]]", "text": "Title one two",
            "links": ["https://example.org/"], "code": [["ls -l", "pwd"]]}
    return dict(base, **changes)


def test_identical_facts_have_no_difference():
    assert compare.slide_differences(facts(), facts()) == []


def test_each_differing_fact_is_named_with_both_sides():
    found = compare.slide_differences(facts(), facts(structure="h2 ul[li[p]] ul[li[p]]", code=[["ls -l", "  pwd"]]))
    assert [what for what, _, _ in found] == ["block structure differs", "code lines differ (block 1, line 2)"]
    assert found[1][1:] == ("pwd", "  pwd")


def test_deliberate_deviations_are_normalised_not_hidden():
    theirs = facts(links=["kube.yml.html#toc-x", "https://github.com/jpetazzo/container.training/tree/main/k8s/a.yaml"])
    ours = facts(links=["kube.html#toc-x", "files/k8s/a.yaml"], classes=["title", "toc"])
    assert compare.slide_differences(theirs, ours)          # they do differ...
    assert not compare.slide_differences(compare.normalised(theirs), compare.normalised(ours))   # ...only so
    assert set(compare.DEVIATIONS) >= {"page names", "local @@LINK copies", "toc class"}


def test_a_missing_manifest_is_a_one_line_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "labdeck.compare", str(tmp_path / "nope.yml")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"{tmp_path / 'nope.yml'}: error: no such manifest"


def test_no_reference_tools_is_a_one_line_error(tmp_path):
    (tmp_path / "slides").mkdir()
    manifest = tmp_path / "slides" / "deck.yml"
    manifest.write_text("title: T\ncontent:\n- a.md\n", encoding="utf-8")
    with pytest.raises(compare.CompareError, match=r"no reference tools in .*reference"):
        compare.find_reference(manifest)


@pytest.fixture(scope="module")
def corpus():
    if not (CORPUS / "kube-halfday.yml").is_file():
        pytest.skip(f"container.training corpus absent ({CORPUS}): nothing to compare")
    try:
        compare.find_reference(CORPUS / "kube-halfday.yml")
    except compare.CompareError as e:
        pytest.skip(str(e))
    return CORPUS


@pytest.mark.parametrize("stem", DECKS)
def test_corpus_deck_shows_what_remark_shows(corpus, browser, stem):
    report = compare.compare_deck(corpus / f"{stem}.yml", browser)
    assert report.error is None
    assert report.total > 300
    assert report.share >= 0.995, report.summary() + "\n" + "\n".join(map(str, report.diffs))
