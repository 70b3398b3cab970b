"""`labs run`: steps really executed in one bash on a real pseudo-terminal."""
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labdeck.labs.commands import main
from labdeck.labs.terminal import tmux_key

ROOT = Path(__file__).resolve().parent.parent
SHELL_DECK = ROOT / "slides" / "shell-basics.yml"
FIXTURES = ROOT / "tests" / "fixtures" / "labs"


def cases(junit: Path) -> list[ET.Element]:
    return list(ET.parse(junit).getroot().iter("testcase"))


def outcome(case: ET.Element) -> str:
    if case.find("failure") is not None:
        return "failed"
    if case.find("skipped") is not None:
        return "skipped"
    return "passed"


def test_every_step_of_the_shell_deck_passes(tmp_path):
    junit = tmp_path / "junit.xml"
    assert main(["run", str(SHELL_DECK), "--junit", str(junit)]) == 0
    root = ET.parse(junit).getroot()
    all_cases = cases(junit)
    assert len(all_cases) >= 20
    assert [outcome(c) for c in all_cases] == ["passed"] * len(all_cases)
    assert root.get("failures") == "0"
    directives = {c.get("name").split("] ", 1)[1].split(":", 1)[0] for c in all_cases}
    assert {"bash", "wait", "key", "check"} <= directives
    # one suite per chapter, cases carry their source and slide
    assert len(root.findall("testsuite")) >= 3
    first = all_cases[0]
    assert first.get("file").endswith(".md") and int(first.get("line")) > 0
    assert first.find("properties/property[@name='slide']").get("value").startswith("shell-basics.html#")


def test_failing_and_hanging_steps_fail_with_their_source_line(tmp_path):
    junit = tmp_path / "junit.xml"
    status = main(["run", str(FIXTURES / "faults.yml"), "--junit", str(junit),
                   "--step-timeout", "2", "--keep-going"])
    assert status == 1
    got = [(c.get("file"), c.get("line"), outcome(c)) for c in cases(junit)]
    src = "tests/fixtures/labs/faults/trouble.md"       # relative to the repository (CI annotations)
    assert got == [(src, "10", "passed"), (src, "23", "failed"), (src, "36", "failed"),
                   (src, "49", "passed")]
    failing, hanging = cases(junit)[1], cases(junit)[2]
    assert "exit status 1" in failing.find("failure").get("message")
    assert "No such file or directory" in failing.find("failure").text   # the screen's last lines
    assert "faults/trouble.md:36" in hanging.find("failure").get("message")
    assert "interrupted" in hanging.find("failure").get("message")


def test_without_keep_going_the_steps_after_a_failure_are_not_run(tmp_path):
    junit = tmp_path / "junit.xml"
    assert main(["run", str(FIXTURES / "faults.yml"), "--junit", str(junit)]) == 1
    assert [outcome(c) for c in cases(junit)] == ["passed", "failed", "skipped", "skipped"]


def test_from_resumes_at_a_step_given_by_file_and_line(tmp_path):
    junit = tmp_path / "junit.xml"
    assert main(["run", str(FIXTURES / "faults.yml"), "--from", "faults/trouble.md:49",
                 "--junit", str(junit)]) == 1     # marker.txt was never written in this run
    assert [(c.get("line"), outcome(c)) for c in cases(junit)] == [("49", "failed")]


def test_from_an_unknown_step_is_one_line_and_non_zero(capsys):
    assert main(["run", str(FIXTURES / "faults.yml"), "--from", "nowhere.md:1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such step" in err[0]


def test_keys_copy_paste_and_check_drive_programs(tmp_path):
    junit = tmp_path / "junit.xml"
    status = main(["run", str(FIXTURES / "interactive.yml"), "--junit", str(junit),
                   "--set", "GREETING=hello"])
    assert status == 0
    assert all(outcome(c) == "passed" for c in cases(junit))


def test_placeholder_without_a_value_is_refused_up_front(tmp_path, capsys):
    junit = tmp_path / "junit.xml"
    assert main(["run", str(FIXTURES / "interactive.yml"), "--junit", str(junit)]) == 2
    err = capsys.readouterr().err
    assert "faults/typing.md:54: error: placeholder 'GREETING' needs a value" in err
    assert "labs: give --set GREETING=VALUE" in err


def test_placeholder_without_a_value_can_be_skipped_not_run(tmp_path):
    junit = tmp_path / "junit.xml"
    assert main(["run", str(FIXTURES / "interactive.yml"), "--junit", str(junit),
                 "--keep-going", "--skip-placeholders"]) == 1
    by_line = {c.get("line"): c for c in cases(junit)}
    skipped = by_line["54"].find("skipped")
    assert skipped is not None and "--set GREETING=VALUE" in skipped.get("message")
    assert outcome(by_line["59"]) == "failed"      # the file was not written: not run blindly


def test_a_labs_json_can_be_run_as_extracted(tmp_path):
    assert main([str(FIXTURES / "faults.yml"), "--out", str(tmp_path)]) == 0
    junit = tmp_path / "junit.xml"
    assert main(["run", str(tmp_path / "faults" / "labs.json"), "--chapter", "1",
                 "--step-timeout", "2", "--junit", str(junit)]) == 1
    assert [outcome(c) for c in cases(junit)] == ["passed", "failed", "skipped", "skipped"]
    # paths in the report stay relative to the repository, from labs.json too
    assert cases(junit)[0].get("file") == "tests/fixtures/labs/faults/trouble.md"


def test_a_flood_of_output_is_read_and_the_next_step_still_runs(tmp_path):
    (tmp_path / "ch.md").write_text("# Flood\n\n---\n\n## Flood\n\n.lab[\n\n"
                                    "```bash\nyes 'a line of output' | head -c 5000000; echo\n```\n\n"
                                    "```bash\necho after the flood\n```\n\n]\n")
    (tmp_path / "flood.yml").write_text("title: flood\ncontent:\n- ch.md\n")
    junit = tmp_path / "junit.xml"
    assert main(["run", str(tmp_path / "flood.yml"), "--junit", str(junit)]) == 0
    assert [outcome(c) for c in cases(junit)] == ["passed", "passed"]


@pytest.mark.parametrize("name,expected", [("^C", "C-c"), ("^D", "C-d"), ("^J", "C-j"),
                                           ("^[", "Escape"), ("Space", "Space"), ("Escape", "Escape"),
                                           ("Up", "Up"), ("pagedown", "PageDown"), ("F5", "F5"),
                                           ("Enter", "Enter"), ("$", "$")])
def test_key_names(name, expected):
    assert tmux_key(name) == expected


def test_unknown_key_name():
    assert tmux_key("Hyper") is None


def test_ctrl_c_during_a_run_still_writes_the_report_of_the_steps_done(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    junit = tmp_path / "junit.xml"
    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "labs", "run", str(SHELL_DECK),
                             "--junit", str(junit)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, LABDECK_CACHE=str(tmp_path / "cache")))
    passed = 0
    for line in proc.stdout:                 # a few steps have run: interrupt, as an author's Ctrl-C
        passed += "PASSED" in line
        if passed >= 3:
            proc.send_signal(signal.SIGINT)
            break
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    done = cases(junit)
    assert len(done) >= 3 and all(outcome(c) == "passed" for c in done[:3])
