"""`labs run` on the interaction patterns of real decks, with local stand-ins:
panes and windows, nested shells (sh, bash, python3, a stand-in `kubectl`
for -ti shells), watchers left running, keys, copy/paste, multi-line blocks.
Each fixture deck runs to green; the same deck with one planted failure is
reported at the planted line. No process of a run outlives it."""
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labdeck.labs.commands import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "labs"
DECKS = ["blocks", "panes", "nested", "watchers"]


@pytest.fixture(autouse=True)
def stand_in_kubectl(monkeypatch):
    monkeypatch.setenv("PATH", f"{FIXTURES / 'bin'}:{os.environ['PATH']}")


def cases(junit: Path) -> list[ET.Element]:
    return list(ET.parse(junit).getroot().iter("testcase"))


def outcome(case: ET.Element) -> str:
    if case.find("failure") is not None:
        return "failed"
    return "skipped" if case.find("skipped") is not None else "passed"


@pytest.mark.parametrize("deck", DECKS)
def test_fixture_deck_runs_to_green(deck, tmp_path):
    junit = tmp_path / "junit.xml"
    assert main(["run", str(FIXTURES / f"{deck}.yml"), "--junit", str(junit),
                 "--step-timeout", "20"]) == 0
    got = cases(junit)
    assert got and all(outcome(c) == "passed" for c in got), \
        [(c.get("line"), c.find("failure").get("message")) for c in got if outcome(c) == "failed"]


# deck, chapter, the text replaced, its replacement (the planted failure), and
# where the failure is reported relative to the planted line: a command of a
# block at its own line, a one-command step at its fence, a check at its own.
PLANTED = [
    ("blocks", "blocks.md", "echo one > tree/a/1.txt", "cat tree/a/nothing.txt", 0),  # inside a block
    ("blocks", "blocks.md", "```keys true```", "```keys false```", +2),              # the check after it
    ("blocks", "blocks.md", "test -f ticket-4711 &&", "test -f ticket-9999 &&", -1),
    ("panes", "panes.md", '| grep -c web)" = 1', '| grep -c web)" = 3', -1),
    ("nested", "nested.md", "grep -q box box.txt", "grep -q nothing box.txt", 0),   # in a nested sh
    ("nested", "nested.md", 'open("sum.txt", "w")', 'open("no/such/dir.txt", "w")', -1),  # python
    ("nested", "nested.md", "test -z \"$INNER\"", "test -n \"$INNER\"", -1),
    ("watchers", "watchers.md", '-ge 2', '-ge 99', -1),
]


def planted_copy(tmp_path: Path, deck: str, chapter: str, old: str, new: str) -> tuple[Path, int]:
    """A copy of the fixture deck with one line changed; returns (manifest, that line)."""
    dest = tmp_path / "deck"
    shutil.copytree(FIXTURES / "patterns", dest / "patterns")
    shutil.copy(FIXTURES / f"{deck}.yml", dest / f"{deck}.yml")
    src = dest / "patterns" / chapter
    lines = src.read_text().split("\n")
    hits = [i for i, l in enumerate(lines) if old in l]
    assert len(hits) == 1, f"{old!r} must be on exactly one line of {chapter}"
    lines[hits[0]] = lines[hits[0]].replace(old, new)
    src.write_text("\n".join(lines))
    return dest / f"{deck}.yml", hits[0] + 1


@pytest.mark.parametrize("deck,chapter,old,new,delta", PLANTED, ids=lambda v: str(v)[:24])
def test_planted_failure_is_reported_at_its_line(deck, chapter, old, new, delta, tmp_path):
    manifest, line = planted_copy(tmp_path, deck, chapter, old, new)
    junit = tmp_path / "junit.xml"
    assert main(["run", str(manifest), "--junit", str(junit), "--step-timeout", "20"]) == 1
    every = cases(junit)
    failed = [c for c in every if outcome(c) == "failed"]
    assert len(failed) == 1
    assert failed[0].get("line") == str(line + delta), failed[0].find("failure").get("message")
    assert failed[0].get("file").endswith(f"patterns/{chapter}")
    # the screen's last lines come with the failure
    assert "--- last lines of the screen ---" in failed[0].find("failure").text
    later = every[every.index(failed[0]) + 1:]
    assert all(outcome(c) == "skipped" for c in later)


def test_no_process_of_a_run_survives_it(tmp_path):
    """Background jobs, setsid, nohup, a double fork, a watcher in a pane: all gone."""
    pids = tmp_path / "pids"
    deck = tmp_path / "survivors.yml"
    (tmp_path / "ch.md").write_text("""# Leftovers

---

## Processes that try to outlive the lab

.lab[

```bash
printenv LABDECK_RUN > "$PIDS.run"
sleep 1001 & echo $! >> "$PIDS"
setsid sleep 1002 & echo $! >> "$PIDS"
nohup sleep 1003 >/dev/null 2>&1 & echo $! >> "$PIDS"
(setsid sh -c 'sleep 1004 & echo $! >> "$PIDS"' &)
```

```bash
sh -c 'echo $$ >> "$PIDS"; exec tail -f /dev/null'
```
<!--
```wait ```
```tmux split-pane```
-->

```bash
sh -c 'echo $$ >> "$PIDS"; exec sleep 1005'
```
<!-- ```wait ``` -->

]
""")
    deck.write_text("title: leftovers\ncontent:\n- ch.md\n")
    assert main(["run", str(deck), "--set", f"PIDS={pids}", "--step-timeout", "10"]) == 0
    written = [int(p) for p in pids.read_text().split()]
    assert len(written) == 6
    time.sleep(0.2)
    alive = []
    for pid in written:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(pid)
    assert alive == []
    # this run's own tmux server is gone (other suites' runs may be alive on the machine)
    token = Path(f"{pids}.run").read_text().strip()
    assert token
    sock = Path(f"/tmp/tmux-{os.getuid()}") / f"labdeck-{token}"
    assert not (sock.is_socket() and _tmux_alive(sock))


def _tmux_alive(sock: Path) -> bool:
    return subprocess.run(["tmux", "-S", str(sock), "list-sessions"], capture_output=True).returncode == 0


def _run_in_background(args, tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"), LABDECK_CACHE=str(tmp_path / "cache"),
               PYTHONPATH=str(ROOT))
    (tmp_path / "tmp").mkdir()
    return subprocess.Popen([sys.executable, "-c", "import sys; from labdeck.labs.commands import main; "
                             "sys.exit(main(sys.argv[1:]))", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig,status", [(signal.SIGTERM, 143), (signal.SIGHUP, 143), (signal.SIGINT, 130)])
def test_a_signal_during_the_first_step_writes_the_report_and_cleans_up(sig, status, tmp_path):
    deck = tmp_path / "slow.yml"
    (tmp_path / "ch.md").write_text("# Slow\n\n---\n\n## Slow\n\n.lab[\n\n```bash\nsleep 60\n```\n\n]\n")
    deck.write_text("title: slow\ncontent:\n- ch.md\n")
    junit = tmp_path / "junit.xml"
    proc = _run_in_background(["run", str(deck), "--junit", str(junit)], tmp_path)
    for line in proc.stdout:
        if "steps, target" in line:
            break
    time.sleep(1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert "Traceback" not in err
    root = ET.parse(junit).getroot()           # a report, not 0 bytes
    assert root.get("failures") == "1" and "interrupted" in ET.tostring(root, encoding="unicode")
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_wedged_shell_or_a_program_ignoring_ctrl_c_costs_one_step(tmp_path):
    deck = tmp_path / "wedged.yml"
    (tmp_path / "ch.md").write_text("""# Wedged

---

## Stuck

.lab[

```bash
export KEPT=yes; cd /
```

```bash
python3 -c 'import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); signal.signal(signal.SIGQUIT, signal.SIG_IGN); time.sleep(600)'
```

```bash
echo "after the stubborn program"
```

```bash
kill -STOP $$
```

```bash
test "$KEPT" = yes && test "$(pwd)" = /
```

]
""")
    deck.write_text("title: wedged\ncontent:\n- ch.md\n")
    junit = tmp_path / "junit.xml"
    assert main(["run", str(deck), "--junit", str(junit), "--keep-going", "--step-timeout", "3"]) == 1
    got = [(c.get("line"), outcome(c)) for c in cases(junit)]
    # under tmux the stopped shell may be continued at once (the step passes) or
    # found stopped (continued or restarted, and said so): either way the next step runs
    assert [g for i, g in enumerate(got) if i != 3] == [("9", "passed"), ("13", "failed"),
                                                        ("17", "passed"), ("25", "passed")]
    every = cases(junit)
    if outcome(every[3]) == "failed":
        message = every[3].find("failure").get("message")
        assert "stopped" in message or "restarted" in message
    assert "killed" in every[1].find("failure").get("message")
    for c in every[2:3] + every[4:]:
        assert float(c.get("time")) < 3


def test_control_characters_in_a_command_give_valid_junit(tmp_path):
    deck = tmp_path / "ctl.yml"
    (tmp_path / "ch.md").write_text("# Ctl\n\n---\n\n## Ctl\n\n.lab[\n\n"
                                    "```bash\necho 'bell\x07 and \x01 and \x1b' ; false\n```\n\n]\n")
    deck.write_text("title: ctl\ncontent:\n- ch.md\n")
    junit = tmp_path / "junit.xml"
    assert main(["run", str(deck), "--junit", str(junit), "--step-timeout", "10"]) == 1
    case = cases(junit)[0]                    # parses: the XML is valid
    assert outcome(case) == "failed" and "\\x01" in case.get("name")


def test_kind_target_without_kind_writes_a_junit_saying_why(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("bash", "tmux"):
        (bindir / tool).symlink_to(shutil.which(tool))
    junit = tmp_path / "junit.xml"
    env = dict(os.environ, PATH=str(bindir), PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-c", "import sys; from labdeck.labs.commands import main; "
                        "sys.exit(main(sys.argv[1:]))", "run", str(FIXTURES / "blocks.yml"),
                        "--target", "kind", "--junit", str(junit)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    failure = ET.parse(junit).getroot().find(".//failure")
    assert "missing: docker, kind, kubectl" in failure.get("message")


def test_a_shell_that_dies_is_restarted_with_its_folder_and_variables(tmp_path):
    deck = tmp_path / "dies.yml"
    (tmp_path / "ch.md").write_text("# Dies\n\n---\n\n## Dies\n\n.lab[\n\n"
                                    "```bash\nmkdir -p here && cd here && KEPT=yes\n```\n\n"
                                    "```bash\nkill -KILL $$\n```\n\n"
                                    "```bash\ntest \"$KEPT\" = yes && test \"${PWD##*/}\" = here\n```\n\n]\n")
    deck.write_text("title: dies\ncontent:\n- ch.md\n")
    junit = tmp_path / "junit.xml"
    assert main(["run", str(deck), "--junit", str(junit), "--keep-going", "--step-timeout", "20"]) == 1
    every = cases(junit)
    assert [outcome(c) for c in every] == ["passed", "failed", "passed"]
    message = every[1].find("failure").get("message")
    assert "the shell ended" in message and "restarted" in message
    assert float(every[1].get("time")) < 10


def test_a_prompt_of_ones_own_is_recognised_with_prompt_option(tmp_path):
    deck = tmp_path / "db.yml"
    (tmp_path / "ch.md").write_text("# Db\n\n---\n\n## Db\n\n.lab[\n\n"
                                    "```bash\nPS1='db=> ' sh\n```\n\n"
                                    "```bash\necho inside > db.txt\n```\n\n"
                                    "```bash\nexit\n```\n\n"
                                    "```bash\ngrep -q inside db.txt\n```\n\n]\n")
    deck.write_text("title: db\ncontent:\n- ch.md\n")
    junit = tmp_path / "junit.xml"
    assert main(["run", str(deck), "--junit", str(junit), "--step-timeout", "8",
                 "--prompt", "sh=^db=> $"]) == 0
    shells = [c.find("properties/property[@name='shell']").get("value") for c in cases(junit)]
    assert shells == ["outer", "sh", "sh", "outer"]
