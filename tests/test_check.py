"""`build.py check` against real decks in real headless Chromium.

The fixture deck (tests/fixtures/check) has exactly one defect per slide; the
check must report exactly those, on the right source lines, and nothing else."""
from __future__ import annotations

import json
import re
import shutil
import struct
from pathlib import Path

import pytest

from labdeck.cli import main as cli


def main(argv):
    """`labdeck check ARGV`, in this process."""
    return cli(["check", *map(str, argv)])
from labdeck.manifest import display_path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "check"


@pytest.fixture(scope="module", autouse=True)
def _chromium(chromium):
    """Every test here drives Chromium (conftest's `chromium` skips without one)."""


@pytest.fixture
def fixture(tmp_path) -> Path:
    """A private copy of the fixture decks (tests may add an exceptions file)."""
    shutil.copytree(FIXTURE, tmp_path / "src")
    return tmp_path / "src"


def line_of(text: str, md: Path) -> int:
    return md.read_text(encoding="utf-8").splitlines().index(text) + 1


def run(capsys, *args) -> tuple[int, list[str], str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    findings = [line for line in err.splitlines() if ": error: " in line or ": warning: " in line]
    return status, findings, out


def test_each_defect_is_reported_once_on_its_source_line(fixture, tmp_path, capsys):
    dist = tmp_path / "dist"
    status, lines, _ = run(capsys, fixture / "defects.yml", fixture / "other.yml", "--out", dist)
    md = fixture / "defects" / "slides.md"
    # printed so that it opens from the current folder (here: the absolute path of the tmp copy)
    shown = display_path(md)
    at = lambda name: f"{shown}:{line_of(f'name: {name}', md)}"   # noqa: E731
    # a finding about a link or a picture points at the line naming it, the others at the slide
    on = lambda text: f"{shown}:{line_of(text, md)}"   # noqa: E731
    checks = [l for l in lines if " defects slide " in l]
    expected = {
        "broken-picture": (3, "error", "image did not load (broken or not an image): images/broken.png",
                           on("![Text saved with a picture's name](images/broken.png)")),
        "too-long": (4, "error", "content overflows the slide by ", at("too-long")),
        "wrapped": (5, "error", "h2 title wraps onto 2 lines", at("wrapped")),
        "dead-link": (6, "error", "dead link #there-is-no-such-slide: no slide has that name",
                      on("- [Nowhere in this deck](#there-is-no-such-slide)")),
        "dead-cross-link": (7, "error", "dead link other.html#not-there-either: deck other has no slide",
                            on("- [Nowhere in the other deck](other.html#not-there-either)")),
        "throws": (8, "error", "uncaught ReferenceError: callSomethingThatDoesNotExist is not defined", at("throws")),
        "remote": (9, "warning", "remote resource not loaded (the check is offline): http://192.0.2.1/pixel.png",
                   on('<img src="http://192.0.2.1/pixel.png" alt="somewhere far away">')),
        "blank": (10, "error", "empty slide", at("blank")),
    }
    assert len(checks) == len(expected), "\n".join(checks)
    for name, (number, severity, message, where) in expected.items():
        prefix = f"{where}: {severity}: defects slide {number} (#{name}): {message}"
        assert [l for l in checks if l.startswith(prefix)], f"missing: {prefix}\n" + "\n".join(checks)
    assert "at the bottom" in next(l for l in checks if "(#too-long)" in l)
    # the check's findings print errors before warnings
    severities = [" error: " in l for l in checks]
    assert severities == sorted(severities, reverse=True), "\n".join(checks)
    assert status == 1

    report = json.loads((dist / "check" / "defects.json").read_text())
    assert report["slides"] == 11 and report["errors"] == 7 and report["warnings"] == 1
    assert {f["number"] for f in report["findings"]} == {3, 4, 5, 6, 7, 8, 9, 10}
    assert json.loads((dist / "check" / "other.json").read_text())["findings"] == []
    shot = next(f for f in report["findings"] if f["number"] == 4)
    assert (dist / "check" / shot["shot"]).stat().st_size > 1000
    page = (dist / "check" / "index.html").read_text()
    assert "callSomethingThatDoesNotExist" in page and shot["shot"] in page


def test_sample_decks_check_clean(tmp_path, capsys):
    manifests = sorted((ROOT / "slides").glob("*.yml"))
    if not manifests:
        pytest.skip("no sample decks in slides/")
    status, lines, out = run(capsys, *manifests, "--out", tmp_path / "dist")
    assert lines == [] and status == 0, "\n".join(lines)
    assert "0 error(s)" in out


def write_exceptions(folder: Path, text: str) -> Path:
    path = folder / "check" / "exceptions.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


ALL_DEFECTS = """\
- deck: defects
  check: image
  reason: the fixture breaks it on purpose
- deck: defects
  check: overflow
  source: defects/slides.md
  contains: at the bottom
  reason: on purpose
- deck: defects
  check: title-wrap
  reason: on purpose
- deck: defects
  check: link
  reason: both dead links are on purpose
- deck: defects
  check: page-error
  reason: on purpose
- deck: defects
  check: empty
  reason: on purpose
"""


def test_exceptions_silence_what_they_match(fixture, tmp_path, capsys):
    write_exceptions(fixture, ALL_DEFECTS)
    status, lines, out = run(capsys, fixture / "defects.yml", fixture / "other.yml", "--out", tmp_path / "dist")
    assert [l for l in lines if ": error: " in l] == []
    assert len([l for l in lines if ": warning: " in l and "(#remote)" in l]) == 1   # warnings stay visible
    assert status == 0
    assert "7 excepted" in out


def test_an_exception_that_matches_nothing_is_an_error(fixture, tmp_path, capsys):
    path = write_exceptions(fixture, ALL_DEFECTS + """\
- deck: other
  check: overflow
  reason: this was fixed long ago
""")
    status, lines, _ = run(capsys, fixture / "defects.yml", fixture / "other.yml", "--out", tmp_path / "dist")
    stale_line = len(ALL_DEFECTS.splitlines()) + 1
    assert status == 1
    assert [l for l in lines if ": error: " in l] == [
        f"{path}:{stale_line}: error: exception for other (overflow) matches no finding any more: remove it"]


def test_an_exception_for_a_deck_not_checked_is_not_judged(fixture, tmp_path, capsys):
    write_exceptions(fixture, ALL_DEFECTS)
    status, lines, _ = run(capsys, fixture / "other.yml", "--out", tmp_path / "dist")
    assert status == 0 and lines == []


def test_a_bad_exceptions_file_is_one_located_error(fixture, tmp_path, capsys):
    path = write_exceptions(fixture, "- deck: defects\n  check: overflwo\n  reason: typo\n")
    status, lines, _ = run(capsys, fixture / "defects.yml", "--out", tmp_path / "dist")
    assert status == 2
    assert len(lines) == 1 and lines[0].startswith(f"{path}:1: error: unknown check 'overflwo' (one of ")


def test_an_exceptions_file_that_is_not_text_is_one_located_error(fixture, tmp_path, capsys):
    path = write_exceptions(fixture, "")
    path.write_bytes(b"\xff\xfe- deck: defects\n")
    status, lines, _ = run(capsys, fixture / "defects.yml", "--out", tmp_path / "dist")
    assert status == 2
    assert len(lines) == 1 and lines[0].startswith(f"{path}: error: cannot read: ")


def test_an_unwritable_out_folder_is_one_error_line(fixture, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    status = main([str(fixture / "other.yml"), "--out", str(blocker / "dist")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1 and err[0].startswith(str(blocker)) and ": error: cannot write" in err[0]


def test_a_request_no_source_names_is_blocked_and_is_an_error(tmp_path, capsys):
    src = tmp_path / "src"
    (src / "parts").mkdir(parents=True)
    (src / "fetcher.yml").write_text("title: Fetcher\ncontent:\n- parts/fetch.md\n")
    (src / "parts" / "fetch.md").write_text(
        "## Phoning home\n\n- A script asks the network for data\n\n"
        "<script>fetch('http://' + '192.0.2.1' + '/data.json').catch(function () {});</script>\n")
    status, lines, _ = run(capsys, src / "fetcher.yml", "--out", tmp_path / "dist")
    assert status == 1
    # a script's request names no element, so it is reported against the deck's manifest
    assert lines == [f"{src / 'fetcher.yml'}:1: error: fetcher: request outside the output folder: "
                     "http://192.0.2.1/data.json"]


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_thumbnails_are_a_contact_sheet_of_every_slide(fixture, tmp_path, capsys):
    dist = tmp_path / "dist"
    run(capsys, fixture / "defects.yml", "--out", dist, "--thumbnails")
    # 11 slides: a row of 10 and a row of 1, each 227x(128+16) pixels
    assert png_size(dist / "check" / "defects-thumbnails.png") == (10 * 227, 2 * 144)
    assert json.loads((dist / "check" / "defects.json").read_text())["thumbnails"] == ["defects-thumbnails.png"]


def test_the_report_has_one_picture_per_slide_errors_first(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "two.md").write_text(
        "## Remote first\n\n<img src=\"http://192.0.2.1/a.png\" alt=\"far\">\n\n---\n\n"
        "## Two problems on one slide\n\n- [one](#nowhere)\n- [two](#99)\n", encoding="utf-8")
    (src / "two.yml").write_text("title: Two\ncontent:\n- two.md\n", encoding="utf-8")
    dist = tmp_path / "dist"
    status, lines, _ = run(capsys, src / "two.yml", "--out", dist)
    assert status == 1
    md = src / "two.md"
    assert f"{display_path(md)}:{line_of('- [one](#nowhere)', md)}: error: two slide 2: dead link #nowhere: " \
           "no slide has that name" in lines
    # past the last slide: says how many there are
    assert f"{display_path(md)}:{line_of('- [two](#99)', md)}: error: two slide 2: dead link #99: " \
           "the deck has 2 slides" in lines
    report = json.loads((dist / "check" / "two.json").read_text())
    assert [f["severity"] for f in report["findings"]] == ["error", "error", "warning"]
    page = (dist / "check" / "index.html").read_text()
    # one block (and one picture) per slide, the slide with errors before the one with a warning
    blocks = re.findall(r'<section class="slide[^"]*" id="two-slide-(\d+)"', page)
    assert blocks == ["2", "1"]
    assert page.count('class="shot"') == 2
    block = page[page.index('id="two-slide-2"'):page.index('id="two-slide-1"')]
    assert "#nowhere" in block and "#99" in block


def test_a_sibling_deck_is_resolved_when_one_manifest_is_checked_alone(fixture, tmp_path, capsys):
    dist = tmp_path / "dist"
    status, lines, _ = run(capsys, fixture / "defects.yml", "--out", dist)
    cross = [l for l in lines if "other.html" in l]
    # other.yml was not named, yet its slides are known: only the missing one is dead
    assert len(cross) == 1 and "deck other has no slide 'not-there-either'" in cross[0], "\n".join(lines)
    assert not any("is not in the output folder" in l for l in lines)


def test_an_interstitial_picture_points_at_interstitials_txt(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "interstitials.txt").write_text("\nhttp://192.0.2.1/first.jpg\n", encoding="utf-8")
    (src / "t.md").write_text("# A chapter\n\n## Inside\n", encoding="utf-8")
    (src / "t.yml").write_text("title: T\ncontent:\n- t.md\n", encoding="utf-8")
    status, lines, _ = run(capsys, src / "t.yml", "--out", tmp_path / "dist")
    remote = [l for l in lines if "first.jpg" in l]
    assert remote and all(l.startswith(f"{display_path(src / 'interstitials.txt')}:2: warning: ") for l in remote), \
        "\n".join(lines)
