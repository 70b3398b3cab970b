"""Bad input: one located line on stderr, a non-zero exit, no traceback, and the
deck's previous output left exactly as it was.

Each test first builds a good deck with `python build.py` (a subprocess, as an
author runs it), then breaks one thing and builds again.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build.py"

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")

GOOD_MANIFEST = "title: Sturdy deck\ncontent:\n- a.md\n- b.md\n"
GOOD_A = "## Opening\n\nA first slide.\n\n---\n\n## With a picture\n\n![a dot](images/dot.png)\n"
GOOD_B = "## Closing\n\n.box[\nsomething boxed\n]\n"

ERROR_LINE = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+): error: (?P<message>\S.*)$")


class Project:
    """slides/ holds deck.yml and its chapters (the source root); src/ is its parent."""

    def __init__(self, tmp_path: Path):
        self.base = tmp_path / "src"
        self.slides = self.base / "slides"
        self.out = tmp_path / "dist"
        self.cache = tmp_path / "cache"
        self.write({"deck.yml": GOOD_MANIFEST, "a.md": GOOD_A, "b.md": GOOD_B, "images/dot.png": PNG})

    def write(self, files: dict[str, str | bytes]) -> None:
        for rel, content in files.items():
            path = self.slides / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")

    def run(self, *extra: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, LABDECK_CACHE=str(self.cache))
        return subprocess.run([sys.executable, str(BUILD), "deck.yml", "--out", str(self.out), *extra],
                              cwd=self.slides, env=env, capture_output=True, text=True, timeout=120)

    def snapshot(self) -> dict[str, bytes]:
        return {str(p.relative_to(self.out)): p.read_bytes() for p in sorted(self.out.rglob("*")) if p.is_file()}

    def build_good(self) -> dict[str, bytes]:
        proc = self.run()
        assert proc.returncode == 0, proc.stderr
        snap = self.snapshot()
        assert "deck.html" in snap and "images/dot.png" in snap
        return snap


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)


def assert_fails(project: Project, before: dict[str, bytes], path: str, line: int | None,
                 message: str, *extra: str) -> str:
    """The build fails with exactly one error line at path:line whose message matches `message`."""
    proc = project.run(*extra)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    errors = [l for l in proc.stderr.splitlines() if ": error: " in l]
    assert len(errors) == 1, proc.stderr
    m = ERROR_LINE.match(errors[0])
    assert m, errors[0]
    assert m.group("path") == path, errors[0]
    if line is not None:
        assert int(m.group("line")) == line, errors[0]
    assert re.search(message, m.group("message"), re.I), errors[0]
    assert project.snapshot() == before, "the previous output changed"
    return errors[0]


# ---- manifests ------------------------------------------------------------------

def test_invalid_yaml(project):
    before = project.build_good()
    project.write({"deck.yml": "title: Sturdy deck\ncontent:\n- a.md\n- [b.md\n"})
    assert_fails(project, before, "deck.yml", 5, "yaml")


def test_manifest_not_a_mapping(project):
    before = project.build_good()
    project.write({"deck.yml": "- a.md\n- b.md\n"})
    assert_fails(project, before, "deck.yml", 1, "mapping")


def test_manifest_without_content(project):
    before = project.build_good()
    project.write({"deck.yml": "title: Sturdy deck\nexclude: [x]\n"})
    assert_fails(project, before, "deck.yml", 1, "content")


def test_missing_chapter(project):
    before = project.build_good()
    project.write({"deck.yml": GOOD_MANIFEST + "- nowhere.md\n"})
    assert_fails(project, before, "deck.yml", 5, r"nowhere\.md.*not found")


# ---- chapters -------------------------------------------------------------------

def test_missing_include(project):
    before = project.build_good()
    project.write({"b.md": GOOD_B + "\n---\n\n@@INCLUDE[slides/absent.md]\n"})
    assert_fails(project, before, "b.md", 9, r"absent\.md.*not found")


def test_chapter_escaping_the_source_root(project):
    before = project.build_good()
    (project.base / "outside.md").write_text("## Outside\n", encoding="utf-8")
    project.write({"deck.yml": GOOD_MANIFEST + "- ../outside.md\n"})
    assert_fails(project, before, "deck.yml", 5, "outside")


def test_include_escaping_the_source_parent(project):
    before = project.build_good()
    (project.base.parent / "far.md").write_text("## Far away\n", encoding="utf-8")
    project.write({"b.md": GOOD_B + "\n---\n\n@@INCLUDE[../far.md]\n"})
    assert_fails(project, before, "b.md", 9, "escapes|outside")


def test_image_escaping_the_source_root(project):
    before = project.build_good()
    (project.base / "elsewhere.png").write_bytes(PNG)
    project.write({"b.md": GOOD_B + "\n---\n\n![out](../elsewhere.png)\n"})
    assert_fails(project, before, "b.md", 9, "outside")


def test_empty_deck_when_everything_is_excluded(project):
    before = project.build_good()
    project.write({"a.md": "class: hidden\n\n## One\n", "b.md": "class: hidden\n\n## Two\n--\nstep\n"})
    assert_fails(project, before, "deck.yml", None, "no slides", "--exclude", "hidden")


def test_chapter_that_is_not_utf8(project):
    before = project.build_good()
    project.write({"b.md": b"## Closing\n\nbytes \xff\xfe here\n"})
    assert_fails(project, before, "b.md", 3, "not UTF-8")


def test_manifest_that_is_not_utf8(project):
    before = project.build_good()
    project.write({"deck.yml": b"title: caf\xe9\ncontent:\n- a.md\n"})
    assert_fails(project, before, "deck.yml", 1, "not UTF-8")


@pytest.mark.parametrize("value", ["5", "{hidden: 1}", "[a, [b]]"])
def test_exclude_that_is_not_a_list_of_classes(project, value):
    before = project.build_good()
    project.write({"deck.yml": f"title: Sturdy deck\nexclude: {value}\ncontent:\n- a.md\n- b.md\n"})
    assert_fails(project, before, "deck.yml", 2, "'exclude' must be a list")


def test_paths_in_messages_are_relative_to_the_current_folder(project):
    """Run from the folder above slides/ (as the README does): the chapter path
    must open from there, not only from the source root."""
    project.build_good()
    project.write({"b.md": "## Closing\n\n@@INCLUDE[slides/gone.md]\n\n---\n\nflavour: lemon\n\n## x\n"})
    env = dict(os.environ, LABDECK_CACHE=str(project.cache))
    proc = subprocess.run([sys.executable, str(BUILD), "slides/deck.yml", "--out", str(project.out)],
                          cwd=project.base, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    errors = [l for l in proc.stderr.splitlines() if ": error: " in l]
    assert len(errors) == 1 and errors[0].startswith("slides/b.md:3: error: ") and "gone.md" in errors[0], proc.stderr
    project.write({"b.md": "## Closing\n\n---\n\nflavour: lemon\n\n## x\n"})
    proc = subprocess.run([sys.executable, str(BUILD), "slides/deck.yml", "--out", str(project.out)],
                          cwd=project.base, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert "slides/b.md:5: warning: unknown slide property 'flavour'" in proc.stderr.splitlines()


# ---- warnings: reported, fatal only with --strict -------------------------------

WARNINGS = {
    "unknown property": ({"b.md": GOOD_B + "\n---\n\nflavour: lemon\n\n## Odd\n"}, "b.md", 9, "flavour"),
    "duplicate link label": ({"a.md": GOOD_A + "\n[site]: https://example.org/a\n",
                              "b.md": GOOD_B + "\n[site]: https://example.org/b\n"}, "b.md", None, r"\[site\]"),
    "duplicate slide name": ({"a.md": "name: twin\n\n## One\n",
                              "b.md": "## Two\n\n---\n\nname: twin\n\n## Three\n"}, "b.md", 5, "twin"),
    # author mistakes remark shows (as text): tests/test_tolerance.py compares the slides with remark's
    "fence left open": ({"b.md": GOOD_B + "\n---\n\n## Code\n\n```bash\necho never closed\n\n---\n\n## Next\n"},
                        "b.md", 11, "unclosed code fence"),
    "lab block left open": ({"b.md": GOOD_B + "\n---\n\n## Exercise\n\n.lab[\n\n- do it:\n  ```bash\n  true\n  ```\n"},
                            "b.md", 11, r"unclosed \.lab\["),
    "missing image": ({"b.md": GOOD_B + "\n---\n\n![gone](images/gone.png)\n"}, "b.md", 9, r"images/gone\.png.*not found"),
    "missing image at its own line": ({"b.md": GOOD_B + "\n---\n\n## Pictures\n\nbelow:\n\n![gone](images/gone.png)\n"},
                                      "b.md", 13, r"images/gone\.png.*not found"),
    "macro left open": ({"a.md": "## Opening\n\n.warning[\nnever closed\n\n---\n\n## Next\n"},
                        "a.md", 3, r"unclosed \.warning\["),
}


@pytest.mark.parametrize("case", sorted(WARNINGS))
def test_warnings_fail_only_with_strict(project, case):
    files, path, line, message = WARNINGS[case]
    project.build_good()
    project.write(files)
    proc = project.run()
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    warnings = [l for l in proc.stderr.splitlines() if re.search(message, l)]
    assert len(warnings) == 1, proc.stderr
    m = re.match(r"^([^:]+):(\d+): warning: ", warnings[0])
    assert m, warnings[0]
    assert m.group(1) == path
    if line is not None:
        assert int(m.group(2)) == line, warnings[0]
    built = project.snapshot()
    strict = project.run("--strict")
    assert strict.returncode != 0
    assert "Traceback" not in strict.stderr
    assert any(re.search(message, l) and ": warning: " in l for l in strict.stderr.splitlines())
    assert project.snapshot() == built


def test_unwritable_output_is_one_error_line(project, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the output folder should be")
    env = dict(os.environ, LABDECK_CACHE=str(project.cache))
    proc = subprocess.run([sys.executable, str(BUILD), "deck.yml", "--out", str(blocker / "dist")],
                          cwd=project.slides, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert [l for l in proc.stderr.splitlines() if ": error: cannot write" in l], proc.stderr


def test_warnings_found_before_a_render_error_are_still_printed(project):
    before = project.build_good()
    project.write({"b.md": GOOD_B + "\n---\n\nclass: x\nnonsense: 1\n\n![away](../../away.png)\n"})
    proc = project.run()     # a picture outside the source folder: still an error, found while rendering
    assert proc.returncode != 0
    assert any(": warning: unknown slide property 'nonsense'" in l for l in proc.stderr.splitlines()), proc.stderr
    assert project.snapshot() == before


def test_a_fence_opening_a_list_item_is_closed_by_its_indented_fence(project):
    project.write({"b.md": GOOD_B + "\n---\n\n## Listed code\n\n- run this:\n- ```bash\n  ls\n  ```\n- done\n"})
    proc = project.run()
    assert proc.returncode == 0, proc.stderr


def test_interstitials_appearing_rebuild_an_unchanged_deck(project):
    project.write({"a.md": "# A titled chapter\n\n" + GOOD_A})
    project.build_good()
    assert "unchanged" in project.run().stdout
    project.write({"interstitials.txt": "images/dot.png\n"})
    proc = project.run()
    assert proc.returncode == 0, proc.stderr
    assert "unchanged" not in proc.stdout
    assert 'class="remark-slide-content pic"' in (project.out / "deck.html").read_text()


# ---- hostile manifests (issue 11) -------------------------------------------------

@pytest.mark.parametrize("key,value,kind", [("zip", "[a]", "list"), ("html", "{a: 1}", "mapping"),
                                            ("zip", "yes", "boolean"), ("html", "2024-01-01", "date"),
                                            ("title", "[x, y]", "list"), ("slides", "no", "boolean")])
def test_manifest_value_of_the_wrong_type_is_located(project, key, value, kind):
    before = project.build_good()
    project.write({"deck.yml": f"title: Sturdy deck\n{key}: {value}\ncontent:\n- a.md\n- b.md\n"
                   .replace("title: Sturdy deck\ntitle:", "title:")})
    line = 1 if key == "title" else 2
    assert_fails(project, before, "deck.yml", line, f"'{key}' must be a string, not (a )?{kind}")


def test_a_number_as_manifest_value_is_its_text(project):
    project.write({"deck.yml": "title: 2026\nzip: 5\nhtml: 7\ncontent:\n- a.md\n- b.md\n",
                   "a.md": GOOD_A + "\n[zip](@@ZIP@@) [html](@@HTML@@)\n"})
    proc = project.run()
    assert proc.returncode == 0, proc.stderr
    page = (project.out / "deck.html").read_text()
    assert 'href="5"' in page and 'href="7"' in page


def test_a_recursive_yaml_alias_is_refused_at_its_line(project):
    before = project.build_good()
    project.write({"deck.yml": "title: Sturdy deck\ncontent: &c\n- a.md\n- *c\n"})
    assert_fails(project, before, "deck.yml", 2, "recursive YAML alias")


def test_an_exploding_yaml_alias_is_refused_quickly(project):
    before = project.build_good()
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for k, name in enumerate("bcdefghij"):
        prev = levels[-1].split("&")[1][0]
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    project.write({"deck.yml": "title: Sturdy deck\n" + "\n".join(levels) + "\ncontent:\n- a.md\n- b.md\n"})
    assert_fails(project, before, "deck.yml", None, "aliases expand to more than")


@pytest.mark.parametrize("depth", [200, 3000])
def test_deeply_nested_content_lists_are_refused(project, depth):
    before = project.build_good()
    project.write({"deck.yml": "title: Sturdy deck\ncontent: " + "[" * depth + "a.md" + "]" * depth + "\n"})
    assert_fails(project, before, "deck.yml", 2, "nested more than|nesting depth")


def test_a_percent_sign_in_names_writes_every_file(project, tmp_path):
    project.write({"50%s.yml": GOOD_MANIFEST})
    env = dict(os.environ, LABDECK_CACHE=str(project.cache))
    out = tmp_path / "out%d"
    proc = subprocess.run([sys.executable, str(BUILD), "50%s.yml", "--out", str(out)],
                          cwd=project.slides, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "50%s: 3 slides" in proc.stdout
    assert {"50%s.html", "build.json", "index.html"} <= {p.name for p in out.iterdir()}
    again = subprocess.run([sys.executable, str(BUILD), "50%s.yml", "--out", str(out)],
                           cwd=project.slides, env=env, capture_output=True, text=True, timeout=120)
    assert "50%s: 3 slides, unchanged" in again.stdout


# ---- no write outside --out -----------------------------------------------------------

def test_a_link_climbing_out_and_back_in_is_copied_inside_the_output(project, tmp_path):
    """`@@LINK[../../x/src/f]` names a file inside the source parent: its copy must
    still land under dist/files/, whatever the number of `..`."""
    project.write({"tool.sh": "echo hi\n"})
    climb = "../" * len(project.base.parts[1:]) + "/".join(project.base.parts[1:]) + "/slides/tool.sh"
    project.write({"b.md": GOOD_B + f"\n---\n\nGet @@LINK[{climb}]\n"})
    before = {p for p in tmp_path.rglob("*")}
    proc = project.run()
    assert proc.returncode == 0, proc.stderr
    new = {p for p in tmp_path.rglob("*")} - before
    outside = [p for p in new if project.out not in p.parents and p != project.out
               and project.cache not in p.parents and p != project.cache]
    assert outside == []
    assert (project.out / "files/slides/tool.sh").read_text() == "echo hi\n"
    assert 'href="files/slides/tool.sh"' in (project.out / "deck.html").read_text()


def test_writes_are_refused_outside_the_output_folder(tmp_path):
    from labdeck.diagnostics import BuildError
    from labdeck.write import write_output
    out = tmp_path / "out"
    out.mkdir()
    (out / "link").symlink_to(tmp_path)
    for rel in ("../x", "a/../../x", "link/x", str(tmp_path / "x"), "."):
        with pytest.raises(BuildError, match="outside the output folder"):
            write_output(out, rel, "no")
    assert not (tmp_path / "x").exists()
    assert write_output(out, "a/b/../c.txt", "yes") and (out / "a/c.txt").read_text() == "yes"


# ---- faults ------------------------------------------------------------------------

def test_a_full_disk_names_the_output_file(project):
    """RLIMIT_FSIZE makes writing a big file fail as a full disk would."""
    import resource
    import signal
    project.write({"images/big.png": PNG + bytes(200_000),
                   "b.md": GOOD_B + "\n---\n\n![big](images/big.png)\n"})

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
    env = dict(os.environ, LABDECK_CACHE=str(project.cache))
    proc = subprocess.run([sys.executable, str(BUILD), "deck.yml", "--out", str(project.out)], cwd=project.slides,
                          env=env, capture_output=True, text=True, timeout=120, preexec_fn=small_files)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    errors = [l for l in proc.stderr.splitlines() if ": error: " in l]
    assert len(errors) == 1 and errors[0].startswith(str(project.out / "images/big.png") + ": error: cannot write"), \
        proc.stderr
    assert not (project.out / "deck.html").exists()


def test_an_unwritable_cache_folder_is_a_warning(project, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    env = dict(os.environ, LABDECK_CACHE=str(blocker / "cache"))
    proc = subprocess.run([sys.executable, str(BUILD), "deck.yml", "--out", str(project.out)],
                          cwd=project.slides, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert [l for l in proc.stderr.splitlines() if ": warning: cannot write the build cache" in l], proc.stderr
    assert (project.out / "deck.html").is_file() and (project.out / "index.html").is_file()


def test_a_second_build_into_the_same_folder_waits_for_the_first(project):
    """The output folder is locked for a build's duration: its stamps describe its own files."""
    import fcntl
    import time
    project.build_good()
    fd = os.open(project.out / ".labdeck-lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    env = dict(os.environ, LABDECK_CACHE=str(project.cache))
    proc = subprocess.Popen([sys.executable, str(BUILD), "deck.yml", "--out", str(project.out)],
                            cwd=project.slides, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)
        assert proc.poll() is None, "the build did not wait for the lock"
    finally:
        os.close(fd)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "another labdeck build is writing into this folder" in err
    assert "deck: 3 slides, unchanged" in out


def test_render_workers_die_with_their_parent(tmp_path):
    """A build killed with SIGKILL while its workers render leaves no worker behind."""
    import signal
    import time
    script = tmp_path / "slow.py"
    script.write_text(
        "import os, sys\n"
        "from labdeck.markdown import RenderQueue\n"
        "q = RenderQueue({}, workers=2)\n"
        "q.add({b'%d' % i: ('*a* ' * 200_000, False, {}) for i in range(40)})\n"
        "print('started', flush=True)\n"
        "q.finish()\n")
    proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        time.sleep(0.5)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert children, "no worker was started"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{c}").exists() and
                                             "Z" not in _state(c) for c in children):
        time.sleep(0.1)
    assert not [c for c in children if Path(f"/proc/{c}").exists() and "Z" not in _state(c)]


def _state(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


# ---- hostile chapters ----------------------------------------------------------------

def test_labdecks_placeholder_characters_in_a_chapter_are_plain_text(project):
    """U+E000/U+E001 mark `.name[` nodes inside labdeck: an author's own are just text."""
    project.write({"b.md": "## Closing\n\nodd \ue00007\ue001 and \ue0000\ue001 then .box[boxed]\n"})
    proc = project.run()
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    page = (project.out / "deck.html").read_text()
    assert "odd \ue00007\ue001 and \ue0000\ue001 then" in page
    assert page.count('<span class="box">boxed</span>') == 1


def test_name_blocks_nested_past_the_limit_are_refused_at_their_line(project):
    before = project.build_good()
    deep = ".a[" * 2000 + "x" + "]" * 2000
    project.write({"b.md": GOOD_B + "\n---\n\n## Deep\n\n" + deep + "\n"})
    assert_fails(project, before, "b.md", 11, r"nested more than 64 deep")


def test_name_blocks_nested_up_to_the_limit_are_built(project):
    project.write({"b.md": "## Deep\n\n" + ".a[" * 64 + "x" + "]" * 64 + "\n"})
    proc = project.run()
    assert proc.returncode == 0, proc.stderr
    assert (project.out / "deck.html").read_text().count('<span class="a">') == 64


SLOW = {   # inputs that made a scan quadratic: n copies of a piece
    "unclosed .a[": lambda n: ".a[" * n,
    "lines starting with [x": lambda n: "[x\n" * n,
    "unclosed ![:x": lambda n: "![:x " * n,
    "macros with an open (": lambda n: "![:x](" * n,
    "a code block with a highlighted span per line": lambda n: "```bash\n" + "echo `a` b\n" * n + "```\n",
}


@pytest.mark.parametrize("case", sorted(SLOW))
def test_slow_inputs_take_linear_time(case):
    """Four times the input must cost well under sixteen times the time (a
    quadratic scan): a ratio within one run, not a timed limit. CPU time, not wall
    time: other processes on a loaded machine do not count."""
    import time
    from labdeck import remark
    from labdeck.markdown import Renderer

    def cost(n):
        best = None
        for _ in range(3):
            started = time.process_time()
            for s in remark.parse(SLOW[case](n)):
                Renderer({}).tree(s.content)
            took = time.process_time() - started
            best = took if best is None else min(best, took)
        return best
    cost(100)                         # warm-up: lexers, regexes
    n = 1500                          # big enough to take milliseconds
    small, large = cost(n), cost(4 * n)
    assert large / small < 9, f"{case}: {small:.3f}s for {n:,}, {large:.3f}s for {4 * n:,}"


# ---- odd but valid input ----------------------------------------------------------------

def test_a_chapter_starting_with_a_byte_order_mark_keeps_its_properties(project):
    project.write({"b.md": "\ufeffclass: closing\n\n## Closing\n", "deck.yml": "\ufeff" + GOOD_MANIFEST})
    proc = project.run()
    assert proc.returncode == 0, proc.stderr
    page = (project.out / "deck.html").read_text()
    assert 'class="remark-slide-content closing"' in page
    assert "class: closing" not in page


def test_percent_encoded_image_names_are_found_and_copied(project):
    project.write({"images/a dot é.png": PNG,
                   "b.md": GOOD_B + "\n---\n\n![spaced](images/a%20dot%20%C3%A9.png)\n"})
    proc = project.run()
    assert proc.returncode == 0, proc.stderr
    assert (project.out / "images/a dot é.png").read_bytes() == PNG


def test_nested_includes_and_two_on_a_line_are_expanded(project):
    (project.base / "parts").mkdir()
    (project.base / "parts/outer.md").write_text("outer says @@INCLUDE[parts/inner.md]\n", encoding="utf-8")
    (project.base / "parts/inner.md").write_text("inner-text", encoding="utf-8")
    (project.base / "parts/left.md").write_text("LEFT", encoding="utf-8")
    (project.base / "parts/right.md").write_text("RIGHT", encoding="utf-8")
    project.write({"b.md": GOOD_B + "\n---\n\n@@INCLUDE[parts/outer.md]\n\n@@INCLUDE[parts/left.md] and "
                                    "@@INCLUDE[parts/right.md]\n"})
    proc = project.run()
    assert proc.returncode == 0, proc.stderr
    page = (project.out / "deck.html").read_text()
    assert "outer says inner-text" in page and "LEFT and RIGHT" in page
    assert "@@INCLUDE" not in page


def test_an_include_cycle_is_one_located_error(project):
    before = project.build_good()
    (project.base / "loop.md").write_text("again\n@@INCLUDE[loop.md]\n", encoding="utf-8")
    project.write({"b.md": GOOD_B + "\n---\n\n@@INCLUDE[loop.md]\n"})
    assert_fails(project, before, "loop.md", 2, "includes itself")


def test_index_links_to_decks_named_with_hash_or_question_mark(project):
    project.write({"a#1.yml": GOOD_MANIFEST, "b?2.yml": GOOD_MANIFEST.replace("Sturdy", "Other")})
    env = dict(os.environ, LABDECK_CACHE=str(project.cache))
    proc = subprocess.run([sys.executable, str(BUILD), "a#1.yml", "b?2.yml", "--out", str(project.out)],
                          cwd=project.slides, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    index = (project.out / "index.html").read_text()
    assert 'href="a%231.html"' in index and 'href="b%3F2.html"' in index
    assert (project.out / "a#1.html").is_file() and (project.out / "b?2.html").is_file()


def test_inline_fragments_name_no_absolute_path(project, tmp_path):
    """A manifest outside the current folder: the page is the same as when built from beside it."""
    project.write({"deck.yml": GOOD_MANIFEST + "- |\n  ## Inline\n\n  from the manifest\n"})
    env = dict(os.environ, LABDECK_CACHE=str(project.cache))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    pages = []
    for cwd, name in ((project.slides, "deck.yml"), (elsewhere, str(project.slides / "deck.yml"))):
        proc = subprocess.run([sys.executable, str(BUILD), name, "--out", str(project.out)], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        pages.append((project.out / "deck.html").read_text())
        (project.out / "deck.html").unlink()
    assert pages[0] == pages[1]
    assert str(tmp_path) not in pages[1]
    assert 'data-source="deck.yml:' in pages[1]


def test_manifest_values_cannot_leave_their_attribute(project):
    project.write({"deck.yml": "title: Sturdy deck\nslides: 'x\" onmouseover=\"alert(1)'\ncontent:\n- a.md\n- b.md\n",
                   "a.md": GOOD_A + '\n<a href="@@SLIDES@@">slides</a>\n'})
    proc = project.run()
    assert proc.returncode == 0, proc.stderr
    page = (project.out / "deck.html").read_text()
    assert "onmouseover=" not in page.replace("onmouseover=&quot;", "")
    assert 'href="x&quot; onmouseover=&quot;alert(1)"' in page


@pytest.mark.parametrize("deep", ["> " * 600 + "quoted\n", "".join("  " * i + "- item\n" for i in range(300))])
def test_blockquotes_and_lists_nested_past_the_limit_are_refused_at_their_line(project, deep):
    before = project.build_good()
    project.write({"b.md": GOOD_B + "\n---\n\n## Deep\n\n" + deep})
    line = 11 + (51 if deep.startswith("-") else 0)
    assert_fails(project, before, "b.md", line, r"nested more than 50 deep")
