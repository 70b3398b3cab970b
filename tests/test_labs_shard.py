"""`labs run --shard K/N`: chapter-aligned, deterministic, each shard runnable
alone (its chapters' set-up known), reports that merge into one."""
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labdeck.labs.commands import main
from labdeck.labs.extract import StepRecord
from labdeck.labs.junit import merge
from labdeck.labs.shard import cut, chapters_of, parse_shard, plan


def rec(index, chapter, text, source=None):
    src = source or f"ch{chapter}.md"
    return StepRecord(index, "d", chapter, f"Chapter {chapter}", src, 1, "", "1", "d.html#1",
                      src, index, "bash", text)


@pytest.mark.parametrize("text", ["0/2", "3/2", "x", "1/0", ""])
def test_bad_shard_is_a_clear_error(text):
    with pytest.raises(ValueError, match="expected K/N"):
        parse_shard(text)


def test_chapters_are_cut_into_contiguous_groups_of_about_equal_steps():
    steps, i = [], 0
    for chapter, count in enumerate([5, 1, 1, 5, 2, 2, 4], 1):
        for _ in range(count):
            i += 1
            steps.append(rec(i, chapter, "true"))
    for n in range(1, 9):
        groups = cut(chapters_of(steps), n)
        assert len(groups) == n
        flat = [c[0].chapter for g in groups for c in g]
        assert flat == list(range(1, 8))                      # every chapter once, in order
        assert groups == cut(chapters_of(steps), n)          # the same cut every time
    sizes = [sum(len(c) for c in g) for g in cut(chapters_of(steps), 3)]
    assert max(sizes) - min(sizes) <= 4


def test_a_shard_runs_the_earlier_chapters_that_set_its_variables_first():
    steps = [rec(1, 1, "mkdir data"), rec(2, 1, "DATA=$(pwd)/data"),
             rec(3, 2, "touch unrelated"),
             rec(4, 3, "ls $DATA"), rec(5, 4, "echo $DATA/x")]
    run, setup = plan(steps, 2, 2, [])
    assert [s.index for s in run] == [1, 2, 4, 5] and setup == {1, 2}
    run, setup = plan(steps, 2, 2, ["ch2.md"])                # declared in labs-setup:
    assert [s.index for s in run] == [1, 2, 3, 4, 5] and setup == {1, 2, 3}
    run, setup = plan(steps, 1, 2, [])
    assert [s.index for s in run] == [1, 2, 3] and setup == set()


DECK = {
    "one.md": "# One\n\n---\n\n## One\n\n.lab[\n\n```bash\nmkdir -p box\n```\n\n"
              "```bash\nBOX=$(pwd)/box\n```\n\n]\n",
    "two.md": "# Two\n\n---\n\n## Two\n\n.lab[\n\n```bash\ntouch two.txt\n```\n\n]\n",
    "three.md": "# Three\n\n---\n\n## Three\n\n.lab[\n\n```bash\ntouch \"$BOX/three\"\n```\n\n"
                "```bash\ntest -f \"$BOX/three\"\n```\n\n]\n",
}


def test_each_shard_runs_alone_and_the_merged_report_counts_each_step_once(tmp_path):
    for name, text in DECK.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "deck.yml").write_text("title: sharded\ncontent:\n- one.md\n- two.md\n- three.md\n")
    reports = []
    for k in (1, 2):
        junit = tmp_path / f"shard-{k}.xml"
        assert main(["run", str(tmp_path / "deck.yml"), "--shard", f"{k}/2",
                     "--junit", str(junit), "--step-timeout", "20"]) == 0
        reports.append(junit)
    names = [[c.get("line") for c in ET.parse(r).getroot().iter("testcase")] for r in reports]
    assert sorted(sum(names, [])) == sorted(["9", "13", "9", "9", "13"])
    merged = merge(reports, tmp_path / "all.xml")
    assert merged.get("tests") == "5" and merged.get("failures") == "0"
    assert ET.parse(tmp_path / "all.xml").getroot().get("tests") == "5"
