"""The check's report: DIR/check/<deck>.json and DIR/check/index.html."""
from __future__ import annotations

import json
from pathlib import Path

import jinja2

from ..write import write_atomic


def deck_json(r) -> dict:
    return {
        "deck": r.stem, "slides": r.slides, "seconds": round(r.seconds, 2),
        "errors": len(r.errors),
        "warnings": sum(1 for f in r.findings if f.severity == "warning" and not f.excepted),
        "excepted": sum(1 for f in r.findings if f.excepted),
        "findings": [f.as_json() for f in r.findings],
        "slides_with_findings": slide_groups(r.findings),
        "thumbnails": r.thumbnails,
        "phases": r.phases,
    }


def slide_groups(findings: list) -> list[dict]:
    """One entry per slide (and one for the whole deck) with all of its findings, errors first:
    slides with errors before slides with only warnings, then by slide number."""
    groups: dict = {}
    for f in findings:
        g = groups.setdefault(f.number, {"number": f.number, "name": f.name, "shot": None, "shot_box": None,
                                         "findings": []})
        g["findings"].append(f.as_json())
        if f.shot and not g["shot"]:
            g["shot"], g["shot_box"] = f.shot, f.shot_box
    for g in groups.values():
        g["findings"].sort(key=lambda f: (f["severity"] != "error", bool(f["excepted"])))
        g["errors"] = sum(1 for f in g["findings"] if f["severity"] == "error" and not f["excepted"])
    return sorted(groups.values(), key=lambda g: (g["errors"] == 0, g["number"] or 0))


def write_report(folder: Path, results: list, stale: list[str], templates: Path | None = None) -> Path:
    """Write the JSON per deck and the HTML page; returns the page's path.
    `templates`: the project's template folder (its check.html.j2 wins over ours)."""
    from ..overrides import project_templates
    folder = Path(folder)
    for r in results:
        write_atomic(folder / f"{r.stem}.json", json.dumps(deck_json(r), indent=1, ensure_ascii=False) + "\n")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(f) for f in project_templates(templates).folders]), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    page = env.get_template("check.html.j2").render(decks=[deck_json(r) for r in results], stale=stale)
    write_atomic(folder / "index.html", page)
    return folder / "index.html"
