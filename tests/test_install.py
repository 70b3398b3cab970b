"""labdeck as users get it: the wheel, installed in a fresh venv, used in an
empty folder far from this checkout (templates, player, probe and live-reload
scripts are package data; mermaid is installed on first use).

The wheel goes into the venv with pip (`--no-deps`); its dependencies are the
ones this suite runs with, made visible through a .pth file (a folder on
sys.path: the .pth files inside it, such as an editable labdeck's, are not
read), so the test needs no download. CI (`.ci/run`) also installs the wheel
with its dependencies from the index and builds the sample decks with it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("install")
    wheels, src = tmp / "wheels", tmp / "src"
    # from a copy of the sources: building writes nothing into the checkout (build/, *.egg-info)
    ignore = shutil.ignore_patterns("node_modules", "__pycache__", "*.egg-info")
    for name in ("labdeck", "templates"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    [wheel] = wheels.glob("labdeck-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                           str(wheel)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz-labdeck-test-deps.pth").write_text("\n".join(sorted(ours)) + "\n")
    return venv


def run(venv: Path, cwd: Path, *args, timeout=300, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LABDECK_MERMAID")}
    environ.update(PATH=f"{venv / 'bin'}{os.pathsep}{environ.get('PATH', '')}",
                   LABDECK_CACHE=str(cwd / ".labdeck-cache"), **env)
    return subprocess.run(["labdeck", *map(str, args)], cwd=cwd, env=environ, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_the_package_comes_from_the_venv_not_the_checkout(venv, tmp_path):
    proc = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import labdeck, labdeck.overrides as t; print(labdeck.__file__); print(t.BUILTIN)"],
                          cwd=tmp_path, capture_output=True, text=True, check=True)
    module, templates = proc.stdout.split()
    assert Path(module).is_relative_to(venv) and Path(templates) == Path(module).parent / "templates"
    for name in ("deck.html.j2", "index.html.j2", "check.html.j2", "deck.css", "deck.js"):
        assert (Path(templates) / name).is_file(), name
    assert (Path(module).parent / "check" / "probe.js").is_file()
    assert (Path(module).parent / "serve" / "livereload.js").is_file()


def test_version(venv, tmp_path):
    from labdeck import __version__
    proc = run(venv, tmp_path, "--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"labdeck {__version__}"


def test_new_deck_builds_checks_prints_and_serves_in_an_empty_folder(venv, tmp_path):
    proc = run(venv, tmp_path, "new", "mydeck")
    assert proc.returncode == 0, proc.stderr
    project = tmp_path / "mydeck"
    assert (project / "slides" / "mydeck.yml").is_file() and (project / ".gitignore").is_file()
    assert run(venv, tmp_path, "new", "mydeck").returncode != 0      # never over existing files

    proc = run(venv, project)
    assert proc.returncode == 0, proc.stderr
    assert re.match(r"mydeck: \d+ slides, [\d.]+s → dist/mydeck\.html$", proc.stdout.strip()), proc.stdout
    assert proc.stderr == ""                                         # the starter deck has no warning
    page = (project / "dist" / "mydeck.html").read_text(encoding="utf-8")
    assert 'class="remark-slide-container"' in page and "My first deck" in page
    for name in ("deck.css", "deck.js", "pygments.css"):
        assert (project / "dist" / "assets" / name).is_file()
    assert json.loads((project / "dist" / "build.json").read_text())["decks"]["mydeck"]["slides"] > 5

    proc = run(venv, project, "labs")
    assert proc.returncode == 0, proc.stderr
    assert (project / "dist" / "labs" / "mydeck" / "labs.json").is_file()

    proc = run(venv, project, "check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 error(s)" in proc.stdout and (project / "dist" / "check" / "index.html").is_file()

    proc = run(venv, project, "pdf", "slides/mydeck.yml")
    assert proc.returncode == 0, proc.stderr
    assert (project / "dist" / "mydeck.pdf").read_bytes().startswith(b"%PDF")

    _serve_briefly(venv, project)
    assert not (ROOT / "dist" / "mydeck.html").exists()


def _serve_briefly(venv: Path, project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", LABDECK_CACHE=str(project / ".labdeck-cache"))
    proc = subprocess.Popen(["labdeck", "--serve", "--port", "0"], cwd=project, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            m = re.search(r"serving \S+ at (http://\S+)", line)
            url = m and m.group(1)
        assert url, "no 'serving' line"
        with urllib.request.urlopen(url + "mydeck.html", timeout=10) as r:
            body = r.read().decode()
        assert "/__labdeck/livereload.js" in body
        with urllib.request.urlopen(url + "__labdeck/livereload.js", timeout=10) as r:
            assert b"EventSource" in r.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err


def test_a_project_overrides_templates_and_assets_file_by_file(venv, tmp_path):
    assert run(venv, tmp_path, "new", "p").returncode == 0
    project = tmp_path / "p"
    (project / "templates").mkdir()
    css = "/* our own theme */\nbody { background: #fed; }\n"
    (project / "templates" / "deck.css").write_text(css)
    (project / "templates" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    proc = run(venv, project)
    assert proc.returncode == 0, proc.stderr
    assert (project / "dist" / "assets" / "deck.css").read_text() == css
    assert (project / "dist" / "assets" / "logo.svg").is_file()
    ours = (venv / "lib").glob("python*/site-packages/labdeck/templates/deck.js")
    assert (project / "dist" / "assets" / "deck.js").read_bytes() == next(ours).read_bytes()
    # a new override is noticed by the next build (the deck is not "unchanged")
    (project / "templates" / "index.html.j2").write_text("<!doctype html><title>Our index</title>{{ decks|length }} decks")
    proc = run(venv, project)
    assert proc.returncode == 0, proc.stderr
    assert (project / "dist" / "index.html").read_text() == "<!doctype html><title>Our index</title>1 decks"


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm not installed: mermaid cannot be installed on first use")
def test_mermaid_is_installed_on_first_use_into_the_cache_folder(venv, tmp_path):
    assert run(venv, tmp_path, "new", "d").returncode == 0
    project = tmp_path / "d"
    chapter = project / "slides" / "intro" / "writing.md"
    chapter.write_text(chapter.read_text() + '\n---\n\n## A diagram\n\n<pre class="mermaid">\n'
                       'flowchart LR\n  Markdown --> labdeck --> HTML\n</pre>\n')
    # npm's own cache only (filled by `npm ci` in this checkout): no network
    proc = run(venv, project, timeout=600, npm_config_offline="true")
    assert proc.returncode == 0, proc.stderr
    assert "installing mermaid" in proc.stderr
    assert list((project / ".labdeck-cache" / "npm").glob("*/node_modules/mermaid/package.json"))
    page = (project / "dist" / "d.html").read_text(encoding="utf-8")
    assert 'data-processed="true"><svg' in page
