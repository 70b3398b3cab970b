"""`labs` on bad input: one located line on stderr, non-zero status, no traceback."""
import json
from pathlib import Path

import pytest

from labdeck.labs.commands import main

ROOT = Path(__file__).resolve().parent.parent
FAULTS = ROOT / "tests" / "fixtures" / "labs" / "faults.yml"


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def test_an_unwritable_out_folder_is_one_error_line(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main([str(FAULTS), "--out", str(blocker / "labs")]) == 1
    assert "error: cannot write lab scripts" in one_error_line(capsys)


def test_an_unwritable_junit_file_is_refused_before_the_run(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    status = main(["run", str(FAULTS), "--from", "1", "--junit", str(blocker / "junit.xml")])
    assert status == 1
    out = capsys.readouterr()
    assert "PASSED" not in out.out          # nothing was run
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(blocker)) and ": error:" in lines[0]


def test_a_chapter_without_labs_is_an_error_not_an_empty_pass(capsys):
    assert main(["run", str(FAULTS), "--chapter", "9"]) == 1
    assert "--chapter 9" in one_error_line(capsys)


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_step_timeout_must_be_positive(value, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", str(FAULTS), "--step-timeout", value])
    assert exc.value.code == 2
    assert "--step-timeout" in capsys.readouterr().err


def test_a_broken_labs_json_is_located(tmp_path, capsys):
    bad = tmp_path / "labs.json"
    bad.write_text("{\n  oops\n")
    assert main(["run", str(bad)]) == 1
    assert one_error_line(capsys).startswith(f"{bad}:2: error: not a labs.json")


def test_a_json_that_is_not_a_labs_file_is_refused(tmp_path, capsys):
    other = tmp_path / "labs.json"
    other.write_text(json.dumps({"deck": "x"}))
    assert main(["run", str(other)]) == 1
    assert one_error_line(capsys).startswith(f"{other}: error:")
