"""JUnit XML for a lab run: a testsuite per chapter, a testcase per step.

`file` attributes are relative to the repository (CI annotations at
file:line); a failure inside a multi-line block carries that command's line.
Set-up steps of a shard appear only when they fail. `merge` joins the
reports of several shards: python -m labdeck.labs.junit merge OUT IN...
"""
from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from labdeck.labs.runner import Result
from labdeck.write import replace_atomic

# XML 1.0 cannot hold most control characters, which terminals do print.
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _BAD_XML.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def case_name(r: Result) -> str:
    """Named after the step's slide, so a failure reads like the deck."""
    s = r.step
    title = f" {s.slide_title}" if s.slide_title else ""
    first = s.text.split("\n", 1)[0]
    if len(first) > 60:
        first = first[:57] + "..."
    setup = " (set-up)" if r.setup else ""
    return f"slide {s.slide}{title} [{s.where}] {s.directive}: {first}".rstrip(": ") + setup


def _el(parent, tag: str, **attrs) -> ET.Element:
    return ET.SubElement(parent, tag, {k: _clean(str(v)) for k, v in attrs.items()})


def write_junit(results: list[Result], path: Path, deck: str, file_of=None,
                error: str | None = None) -> None:
    """`file_of(step)` gives the `file` attribute (default: the step's own path);
    `error` adds a failed testcase saying why the run did not (fully) happen."""
    file_of = file_of or (lambda s: s.file)
    root = ET.Element("testsuites", name=_clean(deck))
    suites: dict[int, ET.Element] = {}
    totals = {"tests": 0, "failures": 0, "skipped": 0, "time": 0.0}

    def count(suite, key, seconds=0.0):
        suite.set(key, str(int(suite.get(key)) + 1))
        if key == "tests":
            suite.set("time", f"{float(suite.get('time')) + seconds:.3f}")

    for r in results:
        if r.setup and r.status != "failed":
            continue
        s = r.step
        suite = suites.get(s.chapter)
        if suite is None:
            suite = _el(root, "testsuite",
                        name=f"{s.chapter:02d} {s.chapter_title or s.chapter_source}",
                        file=s.chapter_source, tests="0", failures="0", errors="0",
                        skipped="0", time="0")
            suites[s.chapter] = suite
        line = r.line or s.line
        case = _el(suite, "testcase", name=case_name(r), classname=f"{deck}.{s.chapter:02d}",
                   file=file_of(s), line=str(line), time=f"{r.seconds:.3f}")
        props = _el(case, "properties")
        _el(props, "property", name="source", value=f"{s.file}:{line}")
        _el(props, "property", name="slide", value=s.url)
        _el(props, "property", name="step", value=str(s.index))
        if r.shell:
            _el(props, "property", name="shell", value=r.shell)
        count(suite, "tests", r.seconds)
        totals["tests"] += 1
        totals["time"] += r.seconds
        if r.status == "failed":
            f = _el(case, "failure", message=f"{s.file}:{line}: {r.message}", type="labstep")
            f.text = _clean(f"{s.file}:{line}: {r.message}\nslide: {s.url}\n"
                            f"step: {s.directive} {s.text}\n--- last lines of the screen ---\n"
                            f"{r.screen}\n")
            count(suite, "failures")
            totals["failures"] += 1
        elif r.status == "skipped":
            _el(case, "skipped", message=r.message)
            count(suite, "skipped")
            totals["skipped"] += 1
        if r.extra:
            _el(case, "system-out").text = _clean(r.extra)
    if error:
        suite = _el(root, "testsuite", name="labdeck", tests="1", failures="1", errors="0",
                    skipped="0", time="0")
        case = _el(suite, "testcase", name="lab run", classname=f"{deck}.run", time="0")
        _el(case, "failure", message=error, type="labrun").text = _clean(error)
        totals["tests"] += 1
        totals["failures"] += 1
    for k, v in totals.items():
        root.set(k, f"{v:.3f}" if k == "time" else str(v))
    _write(root, Path(path))


def _write(root: ET.Element, path: Path) -> None:
    ET.indent(root)
    replace_atomic(path, lambda tmp: ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True))


def merge(inputs: list[Path], out: Path) -> ET.Element:
    """One report out of the shards' reports: their suites side by side, totals added."""
    root = ET.Element("testsuites")
    totals = {"tests": 0, "failures": 0, "skipped": 0, "time": 0.0}
    for p in inputs:
        top = ET.parse(p).getroot()
        root.set("name", top.get("name", ""))
        for suite in (top.findall("testsuite") if top.tag == "testsuites" else [top]):
            suite.set("name", f"{suite.get('name')} ({p.stem})")
            root.append(suite)
            for k in totals:
                totals[k] += float(suite.get(k, 0)) if k == "time" else int(suite.get(k, 0))
    for k, v in totals.items():
        root.set(k, f"{v:.3f}" if k == "time" else str(v))
    _write(root, out)
    return root


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "merge":
        print("usage: python -m labdeck.labs.junit merge OUT.xml IN.xml...", file=sys.stderr)
        return 2
    try:
        root = merge([Path(a) for a in argv[2:]], Path(argv[1]))
    except (OSError, ET.ParseError) as e:
        print(f"junit merge: error: {e}", file=sys.stderr)
        return 1
    print(f"{argv[1]}: {root.get('tests')} tests, {root.get('failures')} failed, "
          f"{root.get('skipped')} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
