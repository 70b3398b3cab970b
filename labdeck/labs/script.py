"""Plain bash scripts and labs.json out of a deck's lab steps.

dist/labs/<deck>/NN-<chapter>.sh (one per chapter that has steps), all.sh
(every chapter sourced into one shell, so variables and the working folder
carry over as they do for a learner), labs.json (every step).

Scripts never hang and never stop early:
- a command stopped by `key ^C` becomes a bounded run (labdeck_until): it runs
  until its `wait` text shows up, or for a few seconds, then gets ^C;
- a watcher left running (a `wait` not followed by ^C, or a `tmux
  split-pane`/`new-window` after it) runs in the background (labdeck_bg)
  until a later lone `key ^C` or the end of its chapter;
- a command that opens a shell somewhere else (`kubectl exec -ti ... sh`,
  `docker run -ti`, `ssh host`, `python3`) is started without a terminal and
  fed through a pipe (labdeck_nested_open); the following commands go to it
  one at a time with their status (labdeck_nested), until `exit` or ^D;
- `exit` in the script's own shell is left out (it would end all.sh);
- placeholders and variables set only in the slides' text are asked up
  front: `bash all.sh --set IP-ADDRESS=10.0.0.1 --set CA_CRT=/path`, or
  `--skip-placeholders`;
- text that types into a program (`keys`, `paste`, other keys) is never a
  command: it becomes a comment, and the command it was for is skipped.
"""
from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

from labdeck.diagnostics import BuildError
from labdeck.lab_blocks import FOLLOWERS, WAIT_LIMIT
from labdeck.labs.extract import StepRecord, unset_variables
from labdeck.write import write_atomic

BOUNDED_DEFAULT = 10      # seconds a command stopped by ^C runs when no `wait` says until when

PRELUDE = r'''set -e
: "${LABDECK_STEP_TIMEOUT:=120}"
declare -A labdeck_set 2>/dev/null || true
labdeck_skip_placeholders=${labdeck_skip_placeholders:-}
while [ $# -gt 0 ]; do
  case $1 in
    --set) labdeck_set[${2%%=*}]=${2#*=}; shift 2 ;;
    --set=*) v=${1#--set=}; labdeck_set[${v%%=*}]=${v#*=}; shift ;;
    --skip-placeholders) labdeck_skip_placeholders=1; shift ;;
    *) echo "usage: $0 [--set NAME=VALUE]... [--skip-placeholders]" >&2; exit 2 ;;
  esac
done
for v in "${!labdeck_set[@]}"; do
  [[ $v =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] && export "$v=${labdeck_set[$v]}"
done
labdeck_skip() { echo "labdeck: skipped $1: $2" >&2; }
# labdeck_need PLACEHOLDER... / labdeck_need_var NAME...: refuse to start without their values.
labdeck_missing=()
labdeck_need() { local n; for n; do [ -n "${labdeck_set[$n]+x}" ] || labdeck_missing+=("$n"); done; }
labdeck_need_var() { local n; for n; do [ -n "${!n+x}" ] || labdeck_missing+=("$n"); done; }
labdeck_check_needs() {
  [ ${#labdeck_missing[@]} -eq 0 ] && return 0
  local n give=
  for n in "${labdeck_missing[@]}"; do give+=" --set $n=VALUE"; done
  labdeck_missing=()
  if [ -n "$labdeck_skip_placeholders" ]; then return 0; fi
  echo "labdeck: values needed: give$give (or --skip-placeholders)" >&2; exit 2
}
# labdeck_fill WHERE COMMAND PLACEHOLDER...: the command with the values given by --set.
labdeck_fill() {
  local where=$1 cmd=$2 n; shift 2
  for n; do
    if [ -z "${labdeck_set[$n]+x}" ]; then labdeck_skip "$where" "no value for $n"; return 0; fi
    cmd=${cmd//"$n"/${labdeck_set[$n]}}
  done
  eval "$cmd"
}
# labdeck_until TEXT SECONDS COMMAND: what a learner does with a command that
# runs until stopped: let it run until TEXT shows up (or for SECONDS when TEXT
# is empty), then press ^C. Fails when TEXT never shows up.
labdeck_until() {
  local text=$1 limit=$2 cmd=$3 log pid found=0 i
  log=$(mktemp)
  set -m        # own process group, so ^C reaches the whole pipeline
  ( eval "$cmd" ) >"$log" 2>&1 </dev/null &
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
# labdeck_bg TEXT SECONDS COMMAND: a watcher the slides leave running (another
# pane or window): started in the background; waits until TEXT shows up.
labdeck_bg_pids=()
labdeck_bg_logs=()
labdeck_bg() {
  local text=$1 limit=$2 cmd=$3 log i
  log=$(mktemp)
  set -m
  ( eval "$cmd" ) >"$log" 2>&1 </dev/null &
  labdeck_bg_pids+=($!)
  labdeck_bg_logs+=("$log")
  set +m
  for ((i = 0; i < limit * 10; i++)); do
    if [ -z "$text" ] || grep -qF -- "$text" "$log"; then break; fi
    sleep 0.1
  done
  tail -n 20 "$log"
  if [ -n "$text" ] && ! grep -qF -- "$text" "$log"; then
    echo "labdeck: '$text' did not show up within ${limit}s" >&2; return 1
  fi
}
# labdeck_copy REGEX: the last match in what the watchers showed (a mouse copy).
labdeck_clip=
labdeck_copy() {
  labdeck_clip=$(cat "${labdeck_bg_logs[@]}" /dev/null 2>/dev/null | grep -aoE -- "$1" | tail -n 1)
  [ -n "$labdeck_clip" ] || { echo "labdeck: nothing matches '$1' to copy" >&2; return 1; }
}
# labdeck_typed PART...: a command typed at the prompt (keys, then what was copied).
labdeck_typed() { local cmd; printf -v cmd '%s' "$@"; eval "$cmd"; }
# labdeck_bg_stop [all]: ^C to the last watcher (or all of them).
labdeck_bg_stop() {
  local pid i
  while [ ${#labdeck_bg_pids[@]} -gt 0 ]; do
    pid=${labdeck_bg_pids[-1]}
    unset 'labdeck_bg_pids[-1]'
    kill -INT -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ "$1" = all ] || break
  done
}
# labdeck_nested_open KIND COMMAND: a shell somewhere else (a pod, a container,
# python), started without a terminal and fed through a pipe.
labdeck_nested_open() {
  labdeck_nested_kind=$1
  labdeck_nested_dir=$(mktemp -d)
  mkfifo "$labdeck_nested_dir/in"
  : >"$labdeck_nested_dir/out"
  ( eval "$2" ) <"$labdeck_nested_dir/in" >>"$labdeck_nested_dir/out" 2>&1 &
  labdeck_nested_pid=$!
  exec {labdeck_nested_fd}>"$labdeck_nested_dir/in"
  labdeck_nested_n=0
}
# labdeck_nested COMMAND: typed into that shell; its output shown, its status returned.
labdeck_nested() {
  local n=$((++labdeck_nested_n)) start i status
  start=$(wc -c <"$labdeck_nested_dir/out")
  if [ "$labdeck_nested_kind" = python ]; then
    printf '%s\n\nprint("__labdeck_%s_" + "0")\n' "$1" "$n" >&"$labdeck_nested_fd"
  else
    printf '%s\necho "__labdeck_%s_$?"\n' "$1" "$n" >&"$labdeck_nested_fd"
  fi
  for ((i = 0; i < LABDECK_STEP_TIMEOUT * 10; i++)); do
    grep -q "__labdeck_${n}_[0-9]" "$labdeck_nested_dir/out" && break
    kill -0 "$labdeck_nested_pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -c +$((start + 1)) "$labdeck_nested_dir/out" | grep -v "__labdeck_${n}_" || true
  status=$(grep -o "__labdeck_${n}_[0-9]*" "$labdeck_nested_dir/out" | tail -n 1)
  if [ -z "$status" ]; then
    echo "labdeck: the nested shell did not answer within ${LABDECK_STEP_TIMEOUT}s" >&2; return 1
  fi
  if [ "$labdeck_nested_kind" = python ] && tail -c +$((start + 1)) "$labdeck_nested_dir/out" | grep -q '^Traceback'; then
    return 1
  fi
  return "${status##*_}"
}
# labdeck_nested_close: `exit` (or ^D): the shell's input ends; wait for it.
labdeck_nested_close() {
  [ -n "$labdeck_nested_dir" ] || return 0
  local i
  exec {labdeck_nested_fd}>&-
  for ((i = 0; i < 100; i++)); do kill -0 "$labdeck_nested_pid" 2>/dev/null || break; sleep 0.1; done
  kill "$labdeck_nested_pid" 2>/dev/null || true
  wait "$labdeck_nested_pid" 2>/dev/null || true
  rm -rf "$labdeck_nested_dir"
  labdeck_nested_dir=
}
labdeck_end_chapter() { labdeck_nested_close; labdeck_bg_stop all; }
trap 'labdeck_end_chapter' EXIT
'''

# A command that opens an interactive shell elsewhere: (regex on the command, kind).
_TTY_FLAG = re.compile(r"(?<=\s)-(?:ti|it)(?=\s|$)|(?<=\s)-t(?=\s)|(?<=\s)--tty(?:=true)?(?=\s|$)")
_SHELLS = r"(?:/bin/|/usr/bin/)?(?:sh|bash|ash|zsh|dash)"
_NESTED = [
    (re.compile(rf"^(?:kubectl|docker|podman|nerdctl|crictl)\b.*\s(?:-ti|-it|--tty)\b"
                rf"(?:(?!\s--\s).)*(?:\s--\s+{_SHELLS}(?:\s+-l)?)?\s*$"), "sh"),
    (re.compile(rf"^(?:kubectl|docker|podman)\b.*\s(?:-ti|-it|--tty)\b.*\s{_SHELLS}\s*$"), "sh"),
    (re.compile(r"^ssh\s+(?:-\S+\s+)*[\w.@-]+\s*$"), "sh"),
    (re.compile(rf"^(?:sudo\s+-i|su(?:\s+-)?|{_SHELLS}(?:\s+--norc|\s+-l)?)\s*$"), "sh"),
    (re.compile(r"^python3?(?:\s+-q)?\s*$"), "python"),
]


def nested_kind(text: str) -> str | None:
    """The kind of shell a command opens elsewhere (sh, python), None for others."""
    text = text.strip()
    if "\n" in text or text.endswith("&"):
        return None
    for pattern, kind in _NESTED:
        if pattern.search(text):
            return kind
    return None


def without_terminal(text: str, kind: str) -> str:
    """The command, started from a script: no terminal asked for (stdin is a pipe)."""
    if kind == "python":
        return re.sub(r"^(python3?)", r"\1 -u -i", text.strip())
    if text.startswith("ssh"):
        return "ssh -T" + text[3:]
    return _TTY_FLAG.sub(lambda m: "-i" if m.group(0) in ("-ti", "-it") else "", text).replace("  ", " ")


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


def _key(rec: StepRecord, *names: str) -> bool:
    return rec.directive == "key" and rec.text.lower() in {n.lower() for n in names}


def _q(text: str) -> str:
    return shlex.quote(text)


def _typed_command(steps: list[StepRecord], i: int) -> tuple[int, list[str]] | None:
    """Steps i.. as `keys`/`paste` ending with Enter, with a paste among them (a
    command put together at the prompt from a copied name): (end, quoted parts)."""
    # Only right after a pane switch or a copy (the learner is back at a shell
    # prompt): keys typed into a program never become a command.
    if i == 0 or steps[i - 1].directive not in ("tmux", "copy"):
        return None
    parts: list[str] = []
    pasted = False
    j = i
    while j < len(steps):
        f = steps[j]
        if f.directive == "keys" and "\n" not in f.text:
            parts.append(_q(f.text))
        elif f.directive == "paste":
            parts.append('"$labdeck_clip"')
            pasted = True
        elif _key(f, "^J", "Enter", "^M"):
            return (j + 1, parts) if pasted and parts else None
        else:
            return None
        j += 1
    return None


def needs(steps: list[StepRecord]) -> list[str]:
    """The up-front checks of a script: its placeholders and prose-only variables."""
    names: list[str] = []
    for s in steps:
        for n in s.placeholders:
            if n not in names:
                names.append(n)
    out = []
    if names:
        out.append("labdeck_need " + " ".join(_q(n) for n in names))
    prose = list(unset_variables(steps))
    if prose:
        out.append("labdeck_need_var " + " ".join(prose))
    out.append("labdeck_check_needs")
    return out


def script_lines(steps: list[StepRecord]) -> list[str]:
    """The body of a chapter script: each step preceded by its source comment."""
    out: list[str] = []
    nested: str | None = None        # the kind of nested shell the commands go to
    watchers = 0                     # labdeck_bg started and not stopped yet
    others: list[str | None] = []    # the other panes/windows, by what their shell is in
    i = 0
    while i < len(steps):
        rec = steps[i]
        out.append("")
        out.append(_comment(rec))
        d = rec.directive
        if d not in ("bash", "hide"):
            typed_line = _typed_command(steps, i)
            if typed_line is not None:          # keys + paste + Enter at a shell prompt
                end, parts = typed_line
                for f in steps[i + 1:end]:
                    out.append(_comment(f))
                    out += _commented(f"{f.directive} {f.text}".rstrip())
                out.append("# typed at the prompt, with what `copy` took:")
                out.append("labdeck_typed " + " ".join(parts))
                i = end
                continue
            if d == "copy":
                out.append(f"labdeck_copy {_q(rec.text)}")
            elif _key(rec, "^C"):
                out.append("labdeck_bg_stop     # ^C: the watcher left running stops")
                watchers = max(0, watchers - 1)
            elif _key(rec, "^D") and nested:
                out.append("labdeck_nested_close     # ^D ends the nested shell")
                nested = None
            elif _key(rec, "^D") and others:
                out.append("# ^D closes this pane: back in the previous one")
                nested = others.pop()
            elif d == "tmux" and re.match(r"(split-pane|split-window|splitw|new-window|neww)\b", rec.text):
                out += _commented(f"{d} {rec.text}")
                out.append("# a new pane or window: its commands run in the script's shell")
                others.append(nested)
                nested = None
            elif d == "tmux" and re.match(r"(select-pane|selectp|last-pane|lastp|select-window|"
                                          r"selectw|last-window|last)\b", rec.text) and others:
                out += _commented(f"{d} {rec.text}")
                nested, others[-1] = others[-1], nested
            elif d == "open":
                out.append(f"echo {_q('labdeck: open in a browser: ' + rec.text)}")
            elif d == "check":
                out.append("# check: set -e already stops at a failing command")
            else:
                out += _commented(f"{d} {rec.text}".rstrip())
            i += 1
            continue
        j = i + 1
        while j < len(steps) and steps[j].directive in FOLLOWERS:
            j += 1
        followers = steps[i + 1:j]
        after = steps[j] if j < len(steps) else None
        typed = [f for f in followers if f.directive in ("keys", "copy", "paste")
                 or (f.directive == "key" and not _key(f, "^C", "^D", "Enter", "^J"))]
        stop_c = any(_key(f, "^C") for f in followers)
        # ^C after a quick command, with a watcher running: the learner stops the watcher
        stops_watcher = stop_c and watchers > 0 and not any(f.directive in WAIT_LIMIT for f in followers)
        if stops_watcher:
            stop_c = False
        stop_d = any(_key(f, "^D") for f in followers)
        wait = next((f for f in followers if f.directive in WAIT_LIMIT), None)
        text = rec.text.strip()
        if rec.placeholder:
            names = " ".join(_q(n) for n in rec.placeholders)
            out.append(f"# placeholder: {', '.join(rec.placeholders)} replaced by the --set values")
            out += _commented(rec.text)
            call = f"labdeck_fill {_q(rec.where)} {_q(rec.text)} {names}"
            out.append(f"labdeck_nested {_q(rec.text)}" if nested else call)
        elif nested:
            if text in ("exit", "logout", "exit()", "quit()"):
                out.append("labdeck_nested_close     # exit: back in the script's shell")
                nested = None
            elif typed:
                out += ["# types into a program of the nested shell; a script cannot:"]
                out += _commented(rec.text)
                out.append(f"labdeck_skip {_q(rec.where)} 'types into an interactive program'")
            else:
                out.append(f"labdeck_nested {_q(rec.text)}")
                if stop_d:
                    out.append("labdeck_nested_close     # ^D ends the nested shell")
                    nested = None
                    stop_d = False
        elif text in ("exit", "logout"):
            out.append("# exit would end the script (all.sh): left out")
            out.append(f"labdeck_skip {_q(rec.where)} 'exit in the outer shell'")
        elif typed:
            out.append("# interactive: the next steps type into this program; a script cannot:")
            out += _commented(rec.text)
            out.append(f"labdeck_skip {_q(rec.where)} 'types into an interactive program'")
        elif nested_kind(text) and not stop_c:
            nested = nested_kind(text)
            out.append(f"# opens a {nested} shell: the next commands go to it through a pipe")
            out.append(f"labdeck_nested_open {nested} {_q(without_terminal(text, nested))}")
            if stop_d:
                out.append("labdeck_nested_close")
                nested = None
        elif stop_c:
            text_ = wait.text if wait else ""
            limit = int(WAIT_LIMIT[wait.directive]) if wait else BOUNDED_DEFAULT
            how = f"until {text_!r} shows up" if wait else f"for {limit}s"
            out.append(f"# runs until stopped with ^C: bounded run ({how})")
            out.append(f"labdeck_until {_q(text_)} {limit} {_q(rec.text)}")
        elif wait or (after is not None and after.directive == "tmux"
                      and re.match(r"(split-pane|split-window|splitw|new-window|neww)\b", after.text)):
            text_ = wait.text if wait else ""
            limit = int(WAIT_LIMIT[wait.directive]) if wait else BOUNDED_DEFAULT
            out.append("# left running (a watcher, another pane or window): in the background")
            out.append(f"labdeck_bg {_q(text_)} {limit} {_q(rec.text)}")
            watchers += 1
        else:
            out.append(rec.text)
        for f in followers:
            out.append(_comment(f))
            out += _commented(f"{f.directive} {f.text}".rstrip())
            if _key(f, "^D") and stop_d and not nested and others:
                out.append("# ^D closes this pane: back in the previous one")
                nested = others.pop()
            if stops_watcher and _key(f, "^C"):
                out.append("labdeck_bg_stop     # ^C: the watcher left running stops")
                watchers -= 1
        i = j
    out.append("")
    out.append("labdeck_end_chapter")
    return out


def by_chapter(steps: list[StepRecord]) -> dict[int, list[StepRecord]]:
    chapters: dict[int, list[StepRecord]] = {}
    for s in steps:
        chapters.setdefault(s.chapter, []).append(s)
    return chapters


def write_labs(steps: list[StepRecord], out: Path, *, deck: str, title: str,
               manifest: str, root: Path | None = None, setup: list[str] | None = None) -> list[Path]:
    """Write the chapter scripts, all.sh and labs.json into `out`; returns the files."""
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
        body = needs(recs) + script_lines(recs)
        write_atomic(path, "\n".join(head) + "\n" + PRELUDE + "\n".join(body) + "\n", mode=0o755)
        written.append(path)
        chapters.append({"chapter": number, "title": first.chapter_title,
                         "source": first.chapter_source, "script": name, "steps": len(recs)})
    all_sh = out / "all.sh"
    lines = ["#!/usr/bin/env bash",
             _flat(f"# Every lab of {deck}, chapter after chapter, in one shell."),
             "# Usage: bash all.sh [--set NAME=VALUE]... [--skip-placeholders]"]
    lines += [PRELUDE.rstrip("\n"), "# Every value the deck needs, asked before anything runs:"]
    lines += needs(steps)
    lines.append('here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)')
    lines += [f'source "$here/{c["script"]}" "$@"' for c in chapters]
    write_atomic(all_sh, "\n".join(lines) + "\n", mode=0o755)
    written.append(all_sh)
    data = {"deck": deck, "title": title, "manifest": manifest, "chapters": chapters,
            # the source root, relative to labs.json: JUnit paths of a run from labs.json
            "root": os.path.relpath(root, out) if root else None, "setup": setup or [],
            "steps": [s.to_dict() for s in steps]}
    write_atomic(out / "labs.json", json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    written.append(out / "labs.json")
    for old in set(out.glob("*.sh")) - set(written):     # a chapter may have lost its labs since last time
        old.unlink()
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
