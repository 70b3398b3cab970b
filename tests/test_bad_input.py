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


def test_missing_image(project):
    before = project.build_good()
    project.write({"b.md": GOOD_B + "\n---\n\n![gone](images/gone.png)\n"})
    assert_fails(project, before, "b.md", 9, r"images/gone\.png.*not found")


def test_missing_image_points_at_its_line(project):
    before = project.build_good()
    project.write({"b.md": GOOD_B + "\n---\n\n## Pictures\n\nbelow:\n\n![gone](images/gone.png)\n"})
    assert_fails(project, before, "b.md", 13, r"images/gone\.png.*not found")


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
    project.write({"b.md": "## Closing\n\n![gone](images/gone.png)\n\n---\n\nflavour: lemon\n\n## x\n"})
    env = dict(os.environ, LABDECK_CACHE=str(project.cache))
    proc = subprocess.run([sys.executable, str(BUILD), "slides/deck.yml", "--out", str(project.out)],
                          cwd=project.base, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    errors = [l for l in proc.stderr.splitlines() if ": error: " in l]
    assert errors == ["slides/b.md:3: error: image 'images/gone.png' not found"], proc.stderr
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
    project.write({"b.md": GOOD_B + "\n---\n\nclass: x\nnonsense: 1\n\n![gone](images/gone.png)\n"})
    proc = project.run()
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
