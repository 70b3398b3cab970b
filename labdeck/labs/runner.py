"""Run lab steps unattended in one interactive bash on a real pseudo-terminal.

The shell is `bash --noediting -i` (no readline: no tab completion inside
heredocs, no bracketed paste), terminal echo off, history expansion off, and a
prompt carrying a per-run token and the last exit status, so the runner knows
when a command ended and how. A multi-line step is sent inside `{ ... }` so
that it yields one prompt, as one step.

How steps combine (the `wait`/`key` steps act on the command before them):
- bash/hide: send; unless the next step talks to the running program (wait,
  key, keys, copy, paste) wait for the prompt and fail on a non-zero status.
- wait/longwait TEXT: wait up to 60/600 s for TEXT in the command's output.
- key/keys/paste: type into the running program; its exit status is not
  judged (^C gives 130 by design) unless a `check` step follows.
- When a program's interaction is over, the runner waits for the prompt.
- Any wait over its limit sends ^C and fails the step.
"""
from __future__ import annotations

import os
import re
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import pexpect

from labdeck.labs.extract import StepRecord

from labdeck.labs.directives import FOLLOWERS, WAIT_LIMIT
SCREEN_LINES = 25
KEEP_BUFFER = 256 * 1024   # characters of transcript kept between commands
COPY_WAIT = 10.0        # seconds `copy` waits for its pattern to show up
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]|\x1b[=>NOM78c]|\r")

KEYS = {"space": " ", "escape": "\x1b", "esc": "\x1b", "enter": "\r", "return": "\r",
        "tab": "\t", "backspace": "\x7f", "up": "\x1b[A", "down": "\x1b[B",
        "right": "\x1b[C", "left": "\x1b[D", "home": "\x1b[H", "end": "\x1b[F"}


def key_bytes(name: str) -> str | None:
    """`^C` → \\x03, `Space` → ' ', a single character → itself; None when unknown."""
    if len(name) == 2 and name[0] == "^":
        c = name[1].upper()
        if c == "?":
            return "\x7f"
        if "@" <= c <= "_":
            return chr(ord(c) - 64)
    if name.lower() in KEYS:
        return KEYS[name.lower()]
    if len(name) == 1:
        return name
    return None


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


class ShellDied(Exception):
    pass


class Shell:
    """One interactive bash whose prompt the runner recognises."""

    def __init__(self, cwd: Path, env: dict[str, str] | None = None):
        self.token = secrets.token_hex(4)
        self.prompt = re.compile(rf"__LD{self.token}_(\d+)__\n?")
        full_env = dict(os.environ)
        full_env.update({"TERM": "xterm", "PAGER": "cat", "GIT_PAGER": "cat",
                         "SYSTEMD_PAGER": "", "LC_ALL": full_env.get("LC_ALL", "C.UTF-8")})
        full_env.update(env or {})
        self.cwd, self.env = cwd, env or {}
        self.child = pexpect.spawn("bash", ["--norc", "--noprofile", "--noediting", "-i"],
                                   cwd=str(cwd), env=full_env, encoding="utf-8",
                                   codec_errors="replace", dimensions=(50, 200), echo=False)
        self.buf = ""           # everything the terminal showed (plus "$ command" lines we add)
        self.scan = 0           # prompts before this offset are consumed
        self.cmd_start = 0      # output of the last command starts here
        self.syncs = 0
        # No echo (our own "$ cmd" lines go into the transcript instead), no
        # history expansion, ^D at the prompt does not end the shell.
        self.child.send("stty -echo; set +H; set +o history; unset PROMPT_COMMAND; "
                        "IGNOREEOF=1000; shopt -s huponexit; PS2=''; "
                        f"PS1='__LD{self.token}_$?__\\n'\n")
        if self.wait_prompt(20) is None:
            raise ShellDied("bash did not show the labdeck prompt")
        self.buf, self.scan, self.cmd_start = "", 0, 0

    # -- reading ----------------------------------------------------------
    def _pump(self, timeout: float) -> None:
        try:
            self.buf += self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            raise ShellDied("the shell exited")

    def _until(self, find, timeout: float):
        deadline = time.monotonic() + timeout
        while True:
            found = find()
            if found is not None:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._pump(min(0.2, left))

    def wait_prompt(self, timeout: float) -> int | None:
        """Exit status shown by the next prompt, or None when none came in time."""
        def find():
            m = self.prompt.search(self.buf, self.scan)
            if m:
                self.scan = m.end()
                return int(m.group(1))
            return None
        return self._until(find, timeout)

    def wait_text(self, text: str, timeout: float) -> bool:
        return bool(self._until(lambda: True if text in strip_ansi(self.buf[self.cmd_start:]) else None,
                                timeout))

    def settle(self, quiet: float = 0.5, limit: float = 3.0) -> None:
        """Give a program that was just started a moment to take the terminal."""
        deadline = time.monotonic() + limit
        size = -1
        while time.monotonic() < deadline and size != len(self.buf):
            size = len(self.buf)
            self._pump(quiet)

    # -- writing ----------------------------------------------------------
    def send_command(self, text: str) -> None:
        if len(self.buf) > KEEP_BUFFER * 4:     # long runs: keep the recent screen only
            self.buf = self.buf[-KEEP_BUFFER:]
        self.buf += "$ " + text.replace("\n", "\n> ") + "\n"
        self.cmd_start = self.scan = len(self.buf)
        body = f"{{\n{text}\n}}" if "\n" in text else text
        self.child.send(body + "\n")

    def send(self, data: str) -> None:
        self.child.send(data)

    def sync(self, timeout: float) -> int | None:
        """Wait until the shell is back at its prompt, however many prompts the
        typed lines made: send a probe line and wait for its answer. Returns
        the exit status of the last command before the probe (kept in $?)."""
        self.syncs += 1
        mark = re.compile(rf"__LDS{self.token}_{self.syncs}_(\d+)__\n?")
        self.child.send(f"__ld_s=$?; printf '__LDS%s_%s_%s__\\n' {self.token} {self.syncs} "
                        '"$__ld_s"; (exit $__ld_s)\n')

        def find():
            m = mark.search(self.buf, self.scan)
            return m if m else None
        m = self._until(find, timeout)
        if m is None:
            return None
        self.scan = m.end()
        self.wait_prompt(timeout)       # the probe's own prompt
        return int(m.group(1))

    def interrupt(self) -> bool:
        """^C until the shell is back at its prompt; True when it is."""
        for key in ("\x03", "\x03", "\x1c"):     # ^\ last: SIGQUIT for programs that trap SIGINT
            self.child.send(key)
            if self.sync(5) is not None:
                return True
        return False

    # -- showing ----------------------------------------------------------
    def screen(self, lines: int = SCREEN_LINES) -> str:
        text = self.prompt.sub("", strip_ansi(self.buf))
        text = re.sub(rf"__LDS{self.token}_\d+_\d+__\n?", "", text)
        return "\n".join(text.rstrip("\n").split("\n")[-lines:])

    def copy(self, pattern: str) -> str | None:
        found = re.findall(f"(?:{pattern})", strip_ansi(self.buf))
        if not found:
            return None
        last = found[-1]
        return last if isinstance(last, str) else "".join(last)

    def close(self) -> None:
        pid = self.child.pid
        try:
            if self.child.isalive():
                self.child.send("kill $(jobs -p) 2>/dev/null; exit\n")
                self.child.expect(pexpect.EOF, timeout=3)
        except (pexpect.TIMEOUT, pexpect.EOF, OSError):
            pass
        self.child.close(force=True)
        kill_session(pid)


def kill_session(sid: int) -> None:
    """End what the shell left behind (background servers): every process of its session."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:       # field 6 of stat: session id
                os.kill(int(stat.parent.name), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            continue


@dataclass
class Result:
    step: StepRecord
    status: str                 # passed | failed | skipped
    message: str = ""
    screen: str = ""            # last lines of the terminal, on failure
    seconds: float = 0.0
    extra: str = ""             # e.g. cluster events collected after a failure


@dataclass
class Options:
    step_timeout: float = 120.0
    keep_going: bool = False
    sets: dict[str, str] = field(default_factory=dict)


class Runner:
    """Runs a list of steps in one Shell; `on_result` sees each result as it comes."""

    def __init__(self, shell: Shell, options: Options, on_result=None, on_failure=None):
        self.sh = shell
        self.opt = options
        self.on_result = on_result or (lambda r: None)
        self.on_failure = on_failure or (lambda r: None)
        self.pending: dict | None = None      # the running command: {"step", "typed"}
        self.last_status: int | None = None
        self.copied: str | None = None

    def run(self, steps: list[StepRecord]) -> list[Result]:
        results: list[Result] = []
        failed = dead = False
        for k, rec in enumerate(steps):
            if failed and not self.opt.keep_going:
                res = Result(rec, "skipped", "not run: an earlier step failed")
            elif dead:
                res = Result(rec, "failed", "not run: the shell ended and could not be restarted")
            else:
                nxt = steps[k + 1].directive if k + 1 < len(steps) else None
                t0 = time.monotonic()
                try:
                    status, message = self.step(rec, nxt)
                except ShellDied as e:
                    status, message = "failed", str(e)
                res = Result(rec, status, message, seconds=time.monotonic() - t0)
                if status == "failed":
                    failed = True
                    res.screen = self.sh.screen()
                    self.on_failure(res)
                    if not self.sh.child.isalive():
                        try:
                            self._restart()
                        except ShellDied:
                            dead = True
            results.append(res)
            self.on_result(res)
        return results

    def _restart(self) -> None:
        self.sh.close()
        self.sh = Shell(self.sh.cwd, self.sh.env)
        self.pending = None

    # -- one step ---------------------------------------------------------
    def step(self, rec: StepRecord, nxt: str | None) -> tuple[str, str]:
        d = rec.directive
        if d in ("bash", "hide"):
            return self._command(rec, nxt)
        if d in WAIT_LIMIT:
            limit = WAIT_LIMIT[d]
            if not self.sh.wait_text(rec.text, limit):
                self._stop_pending()
                return "failed", f"{rec.text!r} did not show up within {limit:.0f}s (interrupted with ^C)"
            return self._after_interaction(nxt)
        if d == "key":
            data = key_bytes(rec.text)
            if data is None:
                return "failed", f"unknown key {rec.text!r}"
            self.sh.send(data)
            self._typed()
            return self._after_interaction(nxt)
        if d == "keys":
            self.sh.send(rec.text)
            self._typed()
            return self._after_interaction(nxt)
        if d == "copy":
            self.copied = self.sh._until(lambda: self.sh.copy(rec.text), COPY_WAIT)
            if self.copied is None:
                return "failed", f"nothing on screen matches {rec.text!r}"
            return self._after_interaction(nxt)
        if d == "paste":
            if self.copied is None:
                return "failed", "paste without a copy before it"
            self.sh.send(self.copied)
            self._typed()
            return self._after_interaction(nxt)
        if d == "check":
            ok, msg = self._resolve()
            if not ok:
                return "failed", msg
            if self.last_status is None:
                return "failed", "check: no command ran before it"
            if self.last_status != 0:
                return "failed", f"exit status {self.last_status}"
            return "passed", ""
        if d == "open":
            return "skipped", f"page to visit (recorded, not opened): {rec.text}"
        if d == "tmux":
            return "skipped", f"tmux {rec.text}: the runner drives a single terminal, without panes"
        return "skipped", f"unknown directive {d!r}"

    def _command(self, rec: StepRecord, nxt: str | None) -> tuple[str, str]:
        text = rec.text
        if rec.placeholder:
            missing = [n for n in rec.placeholders if n not in self.opt.sets]
            if missing:
                return "skipped", ("placeholder the learner replaces: give "
                                   + " ".join(f"--set {n}=VALUE" for n in missing))
            for n in rec.placeholders:
                text = text.replace(n, self.opt.sets[n])
        ok, msg = self._resolve()
        if not ok:
            return "failed", msg
        self.sh.send_command(text)
        self.last_status = None
        if nxt in FOLLOWERS:
            self.pending = {"step": rec, "typed": False}
            if nxt != "wait" and nxt != "longwait":
                self.sh.settle()
            return "passed", "started"
        status = self.sh.wait_prompt(self.opt.step_timeout)
        if status is None:
            self.sh.interrupt()
            return "failed", f"still running after {self.opt.step_timeout:g}s (interrupted with ^C)"
        self.last_status = status
        if status != 0:
            return "failed", f"exit status {status}"
        return "passed", ""

    def _typed(self) -> None:
        if self.pending is not None:
            self.pending["typed"] = True

    def _after_interaction(self, nxt: str | None) -> tuple[str, str]:
        """After wait/key/keys/copy/paste: when the next step is not for the
        running program, the program must have ended: wait for the prompt."""
        if nxt in FOLLOWERS or self.pending is None:
            return "passed", ""
        ok, msg = self._resolve()
        return ("passed", "") if ok else ("failed", msg)

    def _resolve(self) -> tuple[bool, str]:
        """Wait for the running command's prompt. Its status is judged only
        when nothing was typed into it (a ^C'd program exits non-zero by design)."""
        if self.pending is None:
            return True, ""
        p, self.pending = self.pending, None
        status = self.sh.sync(self.opt.step_timeout)
        if status is None:
            self.sh.interrupt()
            return False, (f"the command of {p['step'].where} was still running after "
                           f"{self.opt.step_timeout:g}s (interrupted with ^C)")
        self.last_status = status
        if status != 0 and not p["typed"]:
            return False, f"the command of {p['step'].where} exited with status {status}"
        return True, ""

    def _stop_pending(self) -> None:
        if self.pending is not None:
            self.pending = None
            self.sh.interrupt()
