"""`labs` extraction: chapter scripts, all.sh and labs.json, and the scripts really run."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from labdeck.labs.commands import main

ROOT = Path(__file__).resolve().parent.parent
SHELL_DECK = ROOT / "slides" / "shell-basics.yml"
FIXTURES = ROOT / "tests" / "fixtures" / "labs"


@pytest.fixture(scope="module")
def shell_labs(tmp_path_factory):
    out = tmp_path_factory.mktemp("labs")
    assert main([str(SHELL_DECK), "--out", str(out)]) == 0
    return out / "shell-basics"


def test_writes_one_script_per_chapter_all_sh_and_labs_json(shell_labs):
    data = json.loads((shell_labs / "labs.json").read_text())
    scripts = sorted(p.name for p in shell_labs.glob("[0-9][0-9]-*.sh"))
    assert scripts == sorted(c["script"] for c in data["chapters"])
    assert (shell_labs / "all.sh").read_text().count("source ") == len(scripts)
    for step in data["steps"]:
        for key in ("deck", "chapter", "slide", "anchor", "url", "file", "line", "directive", "text"):
            assert key in step
        src = (ROOT / "slides" / step["file"]).read_text().split("\n")[step["line"] - 1]
        assert "```" in src and step["directive"] in src


def test_every_step_is_preceded_by_its_source_and_slide(shell_labs):
    data = json.loads((shell_labs / "labs.json").read_text())
    text = "".join(p.read_text() for p in sorted(shell_labs.glob("[0-9][0-9]-*.sh")))
    for step in data["steps"]:
        assert f"# [{step['index']}] {step['file']}:{step['line']} - slide {step['slide']}" in text
        assert step["url"] in text


def test_command_stopped_by_ctrl_c_becomes_a_bounded_run(shell_labs):
    text = "".join(p.read_text() for p in shell_labs.glob("[0-9][0-9]-*.sh"))
    assert re.search(r"^labdeck_until \S.* 60 ", text, re.M)


def test_scripts_are_valid_bash(shell_labs):
    for p in shell_labs.glob("*.sh"):
        subprocess.run(["bash", "-n", str(p)], check=True)


def test_all_sh_runs_the_shell_deck_to_the_end(shell_labs, tmp_path):
    p = subprocess.run(["bash", str(shell_labs / "all.sh")], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert (tmp_path / "notes" / "todo.txt").exists()


def test_placeholders_and_typing_are_commented_out_with_a_message(tmp_path):
    assert main([str(FIXTURES / "interactive.yml"), "--out", str(tmp_path)]) == 0
    text = (tmp_path / "interactive" / "01-typing.sh").read_text()
    assert '#   echo "GREETING" > greeting.txt' in text
    assert "labdeck_need GREETING\n" in text
    assert "labdeck_fill faults/typing.md:54 'echo \"GREETING\" > greeting.txt' GREETING" in text
    assert "#   cat > poem.txt" in text and "types into an interactive program" in text


def test_placeholders_are_asked_up_front_and_filled_from_set(tmp_path):
    (tmp_path / "ch.md").write_text("# Values\n\n---\n\n## Values\n\n.lab[\n\n```bash\ntouch poem.txt\n```\n\n"
                                    "```bash\necho \"`GREETING`\" > greeting.txt\n```\n\n]\n")
    (tmp_path / "values.yml").write_text("title: values\ncontent:\n- ch.md\n")
    assert main([str(tmp_path / "values.yml"), "--out", str(tmp_path)]) == 0
    script = tmp_path / "values" / "all.sh"
    p = subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 2
    assert "give --set GREETING=VALUE (or --skip-placeholders)" in p.stderr
    assert not (tmp_path / "poem.txt").exists()          # refused before anything ran
    p = subprocess.run(["bash", str(script), "--set", "GREETING=hello"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "greeting.txt").read_text() == "hello\n"


@pytest.mark.parametrize("deck", ["blocks", "panes", "nested", "watchers"])
def test_all_sh_of_each_pattern_deck_runs_to_the_end(deck, tmp_path, monkeypatch):
    """Watchers in the background, nested shells fed through a pipe, copy/paste
    at the prompt: the script neither hangs nor stops early."""
    assert main([str(FIXTURES / f"{deck}.yml"), "--out", str(tmp_path / "out")]) == 0
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, PATH=f"{FIXTURES / 'bin'}:{os.environ['PATH']}")
    p = subprocess.run(["bash", str(tmp_path / "out" / deck / "all.sh")], cwd=work, env=env,
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]


def test_nested_shell_steps_go_to_the_nested_shell_and_exit_does_not_end_the_script(tmp_path):
    assert main([str(FIXTURES / "nested.yml"), "--out", str(tmp_path)]) == 0
    text = (tmp_path / "nested" / "01-nested.sh").read_text()
    assert "labdeck_nested_open sh 'kubectl exec -i box -- sh'" in text
    assert "labdeck_nested 'echo \"inside the box\" > box.txt\ngrep -q box box.txt'" in text
    assert "labdeck_nested_close     # exit: back in the script's shell" in text
    assert "\nexit\n" not in text
    assert "labdeck_nested_open python 'python3 -u -i -q'" in text


def test_a_watcher_runs_in_the_background_and_stops_at_its_ctrl_c(tmp_path):
    assert main([str(FIXTURES / "watchers.yml"), "--out", str(tmp_path)]) == 0
    text = (tmp_path / "watchers" / "01-watchers.sh").read_text()
    assert "labdeck_bg 'tick 2' 60 'tail -f ticks.log'" in text
    assert "labdeck_bg 'Every 1.0s' 60 'watch -n 1 date'" in text
    assert text.count("labdeck_bg_stop     # ^C") == 2


def test_unknown_directive_is_a_located_warning(tmp_path, capsys):
    assert main([str(FIXTURES / "interactive.yml"), "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "faults/typing.md:63: warning: unknown lab directive 'frobnicate'" in err


def test_bad_manifest_is_one_line_and_non_zero(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("title: x\ncontent:\n- missing.md\n")
    assert main([str(bad), "--out", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "error" in err[-1] and "Traceback" not in "\n".join(err)


def test_a_script_runs_only_what_was_meant_as_a_command(tmp_path):
    # keys, wait, copy, open and tmux texts hold `touch`: none of them may run
    assert main([str(FIXTURES / "hostile.yml"), "--out", str(tmp_path / "out")]) == 0
    work = tmp_path / "work"
    work.mkdir()
    p = subprocess.run(["bash", str(tmp_path / "out" / "hostile" / "all.sh")], cwd=work,
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert "still here" in p.stdout
    assert sorted(x.name for x in work.iterdir()) == []
    text = (tmp_path / "out" / "hostile" / "01-editor.sh").read_text()
    assert "\n#   touch typed-into-the-editor\n" in text


def test_kubernetes_sample_deck_needs_no_values_and_types_nothing_into_a_pod_by_mistake(tmp_path):
    """Its labs run on kind unattended: no placeholder, the other-terminal step in
    a pane of its own, the pod's shell fed its own commands only."""
    assert main([str(ROOT / "slides" / "k8s-services.yml"), "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "k8s-services" / "labs.json").read_text())
    assert not [s for s in data["steps"] if s["placeholders"]]
    assert data["setup"] == ["k8s-services/pod-addresses.md", "k8s-services/clusterip.md"]
    text = next((tmp_path / "k8s-services").glob("*-clusterip.sh")).read_text()
    assert "\nkubectl delete pod -l app=web\n" in text          # in the script's shell
    assert text.count("labdeck_nested 'curl -s http://$WEB_IP'") == 2
    for p in (tmp_path / "k8s-services").glob("*.sh"):
        subprocess.run(["bash", "-n", str(p)], check=True)
