"""Plain bash scripts and labs.json out of a deck's lab steps.

dist/labs/<deck>/NN-<chapter>.sh (one per chapter that has steps), all.sh
(every chapter sourced into one shell, so variables and the working folder
carry over as they do for a learner), labs.json (every step).

A plain script cannot type into an editor or a program's prompt: a command
followed by `keys`/`key` (other than ^C)/`copy`/`paste` is skipped with a
message. A command stopped by `key ^C` becomes a bounded run (labdeck_until):
it runs until its `wait` text shows up, or for a few seconds, then gets ^C.
"""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from labdeck.diagnostics import BuildError
from labdeck.labs.extract import StepRecord

BOUNDED_DEFAULT = 10      # seconds a command stopped by ^C runs when no `wait` says until when
from labdeck.labs.directives import FOLLOWERS, WAIT_LIMIT

PRELUDE = r'''set -e
labdeck_skip() { echo "labdeck: skipped $1: $2" >&2; }
# labdeck_until TEXT SECONDS COMMAND: what a learner does with a command that
# runs until stopped: let it run until TEXT shows up (or for SECONDS when TEXT
# is empty), then press ^C. Fails when TEXT never shows up.
labdeck_until() {
  local text=$1 limit=$2 cmd=$3 log pid found=0 i
  log=$(mktemp)
  set -m        # own process group, so ^C reaches the whole pipeline
  ( eval "$cmd" ) >"$log" 2>&1 &
  pid=$!
  set +m
  for ((i = 0; i < limit * 10; i++)); do
    if [ -n "$text" ] && grep -qF -- "$text" "$log"; then found=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -n "$text" ] && grep -qF -- "$text" "$log"; then found=1; fi
  kill -INT -- "-$pid" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  cat "$log"; rm -f "$log"
  if [ -n "$text" ] && [ "$found" = 0 ]; then
    echo "labdeck: '$text' did not show up within ${limit}s" >&2; return 1
  fi
  return 0
}
'''


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:40].strip("-") or "chapter"


def chapter_slug(rec: StepRecord) -> str:
    src = rec.chapter_source
    if src.endswith(".md"):
        return slug(Path(src).stem)
    return slug(rec.chapter_title)


def script_name(rec: StepRecord) -> str:
    return f"{rec.chapter:02d}-{chapter_slug(rec)}.sh"


def _flat(text: str) -> str:
    """Text for a one-line comment: no line break may end the comment early."""
    return re.sub(r"[\r\n\x0b\x0c\x85\u2028\u2029]+", " ", text)


def _comment(rec: StepRecord) -> str:
    title = f' "{rec.slide_title}"' if rec.slide_title else ""
    return _flat(f"# [{rec.index}] {rec.where} - slide {rec.slide}{title} - {rec.url}")


def _commented(text: str) -> list[str]:
    """Text that is not a command, as comment lines (every line of it)."""
    return ["#   " + _flat(line) for line in text.split("\n")]


def _is_stop_key(rec: StepRecord) -> bool:
    return rec.directive == "key" and rec.text in ("^C", "^c")


def script_lines(steps: list[StepRecord]) -> list[str]:
    """The body of a chapter script: each step preceded by its source comment."""
    out: list[str] = []
    i = 0
    while i < len(steps):
        rec = steps[i]
        out.append("")
        out.append(_comment(rec))
        d = rec.directive
        if d in ("bash", "hide"):
            j = i + 1
            while j < len(steps) and steps[j].directive in FOLLOWERS:
                j += 1
            followers = steps[i + 1:j]
            typed = [f for f in followers if f.directive in ("keys", "copy", "paste")
                     or (f.directive == "key" and not _is_stop_key(f))]
            stopped = any(_is_stop_key(f) for f in followers)
            if rec.placeholder:
                names = ", ".join(rec.placeholders) or "the highlighted placeholder"
                out.append(f"# placeholder: replace {names} before running:")
                out += _commented(rec.text)
                out.append(f"labdeck_skip {shlex.quote(rec.where)} "
                           f"{shlex.quote('replace ' + names + ' (a value only the learner knows)')}")
            elif typed:
                out.append("# interactive: the next steps type into this program; a script cannot:")
                out += _commented(rec.text)
                out.append(f"labdeck_skip {shlex.quote(rec.where)} "
                           f"{shlex.quote('types into an interactive program')}")
            elif stopped:
                wait = next((f for f in followers if f.directive in WAIT_LIMIT), None)
                text = wait.text if wait else ""
                limit = int(WAIT_LIMIT[wait.directive]) if wait else BOUNDED_DEFAULT
                how = f"until {text!r} shows up" if wait else f"for {limit}s"
                out.append(f"# runs until stopped with ^C: bounded run ({how})")
                out.append(f"labdeck_until {shlex.quote(text)} {limit} {shlex.quote(rec.text)}")
            else:
                out.append(rec.text)
            for f in followers:
                out.append(_comment(f))
                out += _commented(f"{f.directive} {f.text}".rstrip())
            i = j
            continue
        if d == "open":
            out.append(f"echo {shlex.quote('labdeck: open in a browser: ' + rec.text)}")
        elif d == "check":
            out.append("# check: set -e already stops at a failing command")
        elif d in WAIT_LIMIT:
            out += _commented(f"{d} {rec.text}  (nothing to wait for in a script)")
        else:
            out += _commented(f"{d} {rec.text}".rstrip())
            why = "needs tmux panes" if d == "tmux" else "needs an interactive terminal"
            out.append(f"labdeck_skip {shlex.quote(rec.where)} {shlex.quote(d + ' step ' + why)}")
        i += 1
    return out


def by_chapter(steps: list[StepRecord]) -> dict[int, list[StepRecord]]:
    chapters: dict[int, list[StepRecord]] = {}
    for s in steps:
        chapters.setdefault(s.chapter, []).append(s)
    return chapters


def write_labs(steps: list[StepRecord], out: Path, *, deck: str, title: str,
               manifest: str, root: Path | None = None, setup: list[str] | None = None) -> list[Path]:
    """Write the chapter scripts, all.sh and labs.json into `out`; returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.sh"):        # a chapter may have lost its labs since last time
        old.unlink()
    written: list[Path] = []
    chapters = []
    for number, recs in by_chapter(steps).items():
        first = recs[0]
        name = script_name(first)
        head = [
            "#!/usr/bin/env bash",
            _flat(f"# {deck}: chapter {number}, {first.chapter_title or first.chapter_source}"
                  f" ({first.chapter_source})"),
            "# Generated by labdeck (python build.py labs): edit the slides, not this file.",
        ]
        path = out / name
        path.write_text("\n".join(head) + "\n" + PRELUDE + "\n".join(script_lines(recs)) + "\n")
        path.chmod(0o755)
        written.append(path)
        chapters.append({"chapter": number, "title": first.chapter_title,
                         "source": first.chapter_source, "script": name, "steps": len(recs)})
    all_sh = out / "all.sh"
    lines = ["#!/usr/bin/env bash",
             _flat(f"# Every lab of {deck}, chapter after chapter, in one shell."),
             "set -e",
             'here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)']
    lines += [f'source "$here/{c["script"]}"' for c in chapters]
    all_sh.write_text("\n".join(lines) + "\n")
    all_sh.chmod(0o755)
    written.append(all_sh)
    import os
    data = {"deck": deck, "title": title, "manifest": manifest, "chapters": chapters,
            # the source root, relative to labs.json: JUnit paths of a run from labs.json
            "root": os.path.relpath(root, out) if root else None, "setup": setup or [],
            "steps": [s.to_dict() for s in steps]}
    (out / "labs.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    written.append(out / "labs.json")
    return written


def read_labs(path: Path) -> tuple[dict, list[StepRecord]]:
    """A labs.json written by write_labs; anything else is a located BuildError."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise BuildError(path, e.lineno, f"not a labs.json: {e.msg}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BuildError(path, None, f"cannot read: {getattr(e, 'strerror', None) or e}") from None
    try:
        return data, [StepRecord.from_dict(d) for d in data["steps"]]
    except (KeyError, TypeError, AttributeError):
        raise BuildError(path, None, "not a labs.json written by `build.py labs` "
                                     "(no list of steps)") from None
