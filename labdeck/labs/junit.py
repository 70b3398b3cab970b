"""JUnit XML for a lab run: a testsuite per chapter, a testcase per step."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from labdeck.labs.runner import Result

# XML 1.0 cannot hold most control characters, which terminals do print.
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _BAD_XML.sub("", text)


def case_name(r: Result) -> str:
    """Named after the step's slide, so a failure reads like the deck."""
    s = r.step
    title = f" {s.slide_title}" if s.slide_title else ""
    first = s.text.split("\n", 1)[0]
    if len(first) > 60:
        first = first[:57] + "..."
    return f"slide {s.slide}{title} [{s.where}] {s.directive}: {first}".rstrip(": ")


def write_junit(results: list[Result], path: Path, deck: str) -> None:
    root = ET.Element("testsuites", name=deck)
    suites: dict[int, ET.Element] = {}
    totals = {"tests": 0, "failures": 0, "skipped": 0, "time": 0.0}
    for r in results:
        s = r.step
        suite = suites.get(s.chapter)
        if suite is None:
            suite = ET.SubElement(root, "testsuite",
                                  name=f"{s.chapter:02d} {s.chapter_title or s.chapter_source}",
                                  file=s.chapter_source, tests="0", failures="0", errors="0",
                                  skipped="0", time="0")
            suites[s.chapter] = suite
        case = ET.SubElement(suite, "testcase", name=case_name(r),
                             classname=f"{deck}.{s.chapter:02d}", file=s.file, line=str(s.line),
                             time=f"{r.seconds:.3f}")
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", name="source", value=s.where)
        ET.SubElement(props, "property", name="slide", value=s.url)
        ET.SubElement(props, "property", name="step", value=str(s.index))
        suite.set("tests", str(int(suite.get("tests")) + 1))
        suite.set("time", f"{float(suite.get('time')) + r.seconds:.3f}")
        totals["tests"] += 1
        totals["time"] += r.seconds
        if r.status == "failed":
            f = ET.SubElement(case, "failure", message=_clean(f"{s.where}: {r.message}"),
                              type="labstep")
            f.text = _clean(f"{s.where}: {r.message}\nslide: {s.url}\n"
                            f"step: {s.directive} {s.text}\n--- last lines of the screen ---\n"
                            f"{r.screen}\n")
            suite.set("failures", str(int(suite.get("failures")) + 1))
            totals["failures"] += 1
        elif r.status == "skipped":
            ET.SubElement(case, "skipped", message=_clean(r.message))
            suite.set("skipped", str(int(suite.get("skipped")) + 1))
            totals["skipped"] += 1
        if r.extra:
            ET.SubElement(case, "system-out").text = _clean(r.extra)
    for k, v in totals.items():
        root.set(k, f"{v:.3f}" if k == "time" else str(v))
    ET.indent(root)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
