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


def _subparsers(p):
    return next(a for a in p._actions if a.__class__.__name__ == "_SubParsersAction").choices


def test_help_lists_every_command_and_build_help_documents_every_option(tmp_path):
    proc = run(["--help"], tmp_path, tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    for command in ("build", "labs", "check", "pdf", "new"):
        assert re.search(rf"^\s+{command}\s+\S", proc.stdout, re.M), f"{command} missing from --help"
    proc = run(["build", "--help"], tmp_path, tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    expected = {"--source", "--out", "--strict", "--exclude", "--zip", "--templates", "MANIFEST"}
    build = _subparsers(parser())["build"]
    actions = [a for a in build._actions if a.dest != "help"]
    for action in actions:
        assert action.help, f"option {action.option_strings or action.dest} has no help text"
        expected.update(action.option_strings or [action.metavar or action.dest])
    for option in expected:
        assert option in text, f"{option} missing from build --help"
    for action in actions:
        # each help sentence is shown (argparse wraps lines: compare word by word)
        words = action.help.replace("%%", "%").split()
        assert " ".join(words[:3]) in " ".join(text.split())


def test_every_command_that_reads_decks_spells_the_shared_options_alike():
    commands = _subparsers(parser())
    labs = _subparsers(commands["labs"])
    for name, p in [("build", commands["build"]), ("check", commands["check"]), ("pdf", commands["pdf"]),
                    ("labs", labs["extract"]), ("labs run", labs["run"])]:
        options = {o: a for a in p._actions for o in a.option_strings}
        exclude = options["--exclude"]
        assert exclude.__class__.__name__ == "_AppendAction" and exclude.nargs is None, name   # repeatable
        assert "--source" in options and "--out" in options or name == "labs run", name


def test_version_and_build_as_the_default_command(tmp_path):
    from labdeck import __version__
    proc = run(["--version"], tmp_path, tmp_path / "cache")
    assert proc.stdout.strip() == f"labdeck {__version__}"
    write_decks(tmp_path)
    explicit = run(["build", "slides/alpha.yml", "--out", "a"], tmp_path, tmp_path / "cache")
    implicit = run(["slides/alpha.yml", "--out", "b"], tmp_path, tmp_path / "cache")
    assert explicit.returncode == implicit.returncode == 0, explicit.stderr + implicit.stderr
    assert (tmp_path / "a" / "alpha.html").read_bytes() == (tmp_path / "b" / "alpha.html").read_bytes()


def test_yaml_manifests_are_found_by_build_and_labs(tmp_path):
    write_decks(tmp_path)
    (tmp_path / "slides" / "beta.yml").rename(tmp_path / "slides" / "beta.yaml")
    proc = run([], tmp_path, tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "dist" / "beta.html").is_file()
    proc = run(["labs"], tmp_path, tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    assert "labs: beta:" in proc.stdout and "labs: alpha:" in proc.stdout


def test_library_calls_never_exit_the_process():
    """Below cli.py nothing raises SystemExit or calls sys.exit (outside `__main__` guards)."""
    import ast
    root = ROOT / "labdeck"
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if "node_modules" in path.parts or path.name in ("cli.py", "__main__.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded = set()
        for node in tree.body:          # `if __name__ == "__main__":` blocks run only as scripts
            if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
                guarded.update(id(n) for n in ast.walk(node))
        for node in ast.walk(tree):
            if id(node) in guarded:
                continue
            text = ast.unparse(node) if isinstance(node, (ast.Raise, ast.Call)) else ""
            if (isinstance(node, ast.Raise) and "SystemExit" in text) or \
                    (isinstance(node, ast.Call) and text.startswith(("sys.exit(", "exit("))):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:60]}")
    assert offenders == []


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
