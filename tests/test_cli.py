"""The command line: `python build.py`, run as a subprocess like an author would."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


from labdeck.cli import parser

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build.py"


def run(args, cwd: Path, cache: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, LABDECK_CACHE=str(cache))
    return subprocess.run([sys.executable, str(BUILD), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def write_decks(folder: Path) -> None:
    slides = folder / "slides"
    (slides / "parts").mkdir(parents=True)
    (slides / "parts" / "one.md").write_text("# Getting started\n\n## First\n\n---\n\n## Second\n", encoding="utf-8")
    (slides / "parts" / "two.md").write_text("## Lonely slide\n", encoding="utf-8")
    (slides / "alpha.yml").write_text("title: Alpha\ncontent:\n- parts/one.md\n", encoding="utf-8")
    (slides / "beta.yml").write_text("title: Beta\ncontent:\n- parts/two.md\n", encoding="utf-8")
    (slides / "notes.txt").write_text("not a manifest\n", encoding="utf-8")


def test_help_documents_every_option(tmp_path):
    proc = run(["--help"], tmp_path, tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    # The options the build documents, and every option the parser actually has.
    expected = {"--source", "--out", "--strict", "--exclude", "--zip", "MANIFEST"}
    actions = [a for a in parser()._actions if a.dest != "help"]
    for action in actions:
        assert action.help, f"option {action.option_strings or action.dest} has no help text"
        expected.update(action.option_strings or [action.metavar or action.dest])
    for option in expected:
        assert option in text, f"{option} missing from --help"
    for action in actions:
        # each help sentence is shown (argparse wraps lines: compare word by word)
        words = action.help.replace("%%", "%").split()
        assert " ".join(words[:3]) in " ".join(text.split())
    # the subcommands are mentioned too
    for sub in ("labs", "check", "pdf"):
        assert sub in text


def test_no_argument_builds_every_manifest_in_slides(tmp_path):
    write_decks(tmp_path)
    proc = run([], tmp_path, tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "dist" / "alpha.html").is_file()
    assert (tmp_path / "dist" / "beta.html").is_file()
    assert not (tmp_path / "dist" / "notes.html").exists()
    import json
    data = json.loads((tmp_path / "dist" / "build.json").read_text(encoding="utf-8"))
    assert sorted(data["decks"]) == ["alpha", "beta"]


def test_one_summary_line_per_deck_with_slides_and_seconds(tmp_path):
    write_decks(tmp_path)
    proc = run(["--out", "site"], tmp_path, tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    assert len(lines) == 2, proc.stdout
    # alpha: a title slide before "# Getting started" (no interstitials.txt: no picture), then its 2 slides
    pattern = re.compile(r"^(\w+): (\d+) slides, (\d+(?:\.\d+)?)s → (\S+)$")
    found = {}
    for line in lines:
        m = pattern.match(line)
        assert m, f"not a summary line: {line!r}"
        found[m.group(1)] = int(m.group(2))
        assert m.group(4).endswith(f"site/{m.group(1)}.html")
    assert found == {"alpha": 3, "beta": 1}


def test_no_manifest_anywhere_is_an_error(tmp_path):
    proc = run([], tmp_path, tmp_path / "cache")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "error" in proc.stderr
