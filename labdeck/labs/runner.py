"""Run lab steps unattended in a real terminal (terminal.py: a private tmux).

A step goes to the active pane, as a learner's typing does:
- bash/hide: typed as is. In the outer shell each typed line yields a prompt
  marker, so every command of a block gets its own status and a failure is
  reported at the line of the command that failed. When the pane runs a
  nested shell (its prompt at the cursor: `kubectl exec -ti ... sh`, `python3`)
  the command goes to that shell; a POSIX shell's status is asked with
  `echo $?`, a Python one fails on a traceback. When the pane is busy with a
  program that does not end (a watcher left running after its `wait`), the
  command runs in a new window, as a learner would open another terminal.
- wait/longwait TEXT: until TEXT shows in the pane (limit: --step-timeout,
  5x for longwait).
- key/keys/paste: typed into the pane; copy reads its screen.
- check: the status of the pane's last command.
- tmux ARGS: run on the lab's tmux session (split-pane, select-pane...).
Whatever still runs when a step is over its limit gets ^C, again, ^\\, then
its process group is killed; a shell that is wedged (stopped) is continued or
restarted from its saved state, and the step says so.
"""
from __future__ import annotations

import os
import re
import signal
import shlex
import time
from dataclasses import dataclass, field

from labdeck.lab_blocks import FOLLOWERS
from labdeck.labs.extract import StepRecord
from labdeck.labs.terminal import Pane, Terminal, TerminalError, strip_ansi, tmux_key

POLL = 0.05
SETTLE = 0.6            # seconds of quiet before a nested prompt is believed
BUSY_GRACE = 3.0        # a program still running after its `wait`: how long before a new window
NESTED_STATUS = re.compile(r"__LDN_(\d+)_")
TRACEBACK = re.compile(r"^Traceback \(most recent call last\):|^\w+Error: ", re.M)


@dataclass
class Result:
    step: StepRecord
    status: str                 # passed | failed | skipped
    message: str = ""
    screen: str = ""            # last lines of the terminal, on failure
    seconds: float = 0.0
    extra: str = ""             # e.g. cluster events collected after a failure
    line: int | None = None     # the failing command's own line, inside a block
    shell: str = ""             # where it ran: "outer", "sh", "python", "window 2"...
    setup: bool = False         # run as another chapter's set-up (--shard)

    @property
    def where(self) -> str:
        return f"{self.step.file}:{self.line or self.step.line}"


@dataclass
class Options:
    step_timeout: float = 120.0
    keep_going: bool = False
    sets: dict[str, str] = field(default_factory=dict)

    def wait_limit(self, directive: str) -> float:
        return self.step_timeout * (5 if directive == "longwait" else 1)


class Outcome(Exception):
    """A step's failure, raised from deep inside and turned into a Result."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class Runner:
    def __init__(self, term: Terminal, options: Options, on_result=None, on_failure=None):
        self.term = term
        self.opt = options
        self.on_result = on_result or (lambda r: None)
        self.on_failure = on_failure or (lambda r: None)
        self.copied: str | None = None
        self.status: dict[str, int | None] = {}     # pane id → last command's status
        self.started: dict[str, int] = {}           # pane id → log offset when its command was typed
        self.auto_windows: list[tuple[str, str]] = []   # (busy pane, pane of the window opened for it)

    # -- the run -------------------------------------------------------------
    def run(self, steps: list[StepRecord], setup: set[int] = frozenset()) -> list[Result]:
        results: list[Result] = []
        failed = False
        for k, rec in enumerate(steps):
            if failed and not self.opt.keep_going:
                res = Result(rec, "skipped", "not run: an earlier step failed")
            else:
                nxt = steps[k + 1].directive if k + 1 < len(steps) else None
                if nxt == "key" and steps[k + 1].text.lower() == "^d":
                    nxt = "close"       # ^D after a command: when it is done (closes a shell)
                t0 = time.monotonic()
                res = Result(rec, "passed")
                try:
                    res.message, res.shell = self.step(rec, nxt) or ("", "")
                    if res.message.startswith("skipped: "):
                        res.status, res.message = "skipped", res.message[9:]
                except Outcome as e:
                    res.status, res.message, res.line = "failed", str(e), e.line
                except TerminalError as e:
                    res.status, res.message = "failed", f"terminal: {e}"
                res.seconds = time.monotonic() - t0
                if res.status == "failed":
                    failed = True
                    try:
                        res.screen = self.pane().screen()
                    except TerminalError:
                        pass
                    self.on_failure(res)
                    res.message += self.recover()
            res.setup = rec.index in setup
            results.append(res)
            self.on_result(res)
        return results

    def pane(self) -> Pane:
        return self.term.active()

    # -- one step ------------------------------------------------------------
    def step(self, rec: StepRecord, nxt: str | None):
        d = rec.directive
        if d in ("bash", "hide"):
            return self.command(rec, nxt)
        pane = self.pane()
        if d in ("wait", "longwait"):
            limit = self.opt.wait_limit(d)
            if not self.wait_text(pane, rec.text, limit):
                self.interrupt(pane)
                raise Outcome(f"{rec.text!r} did not show up within {limit:g}s (interrupted)")
            return "", ""
        if d == "key":
            key = tmux_key(rec.text)
            if key is None:
                raise Outcome(f"unknown key {rec.text!r}")
            pane = self.key_target(pane, key)
            self.mark(pane)
            try:
                pane.key(key)
            except TerminalError:       # the pane closed meanwhile: the active one now
                pane = self.pane()
                self.mark(pane)
                pane.key(key)
            return self.after_typing(pane, nxt, key)
        if d == "keys":
            self.mark(pane)
            pane.type(rec.text)
            return self.after_typing(pane, nxt, None)
        if d == "copy":
            deadline = time.monotonic() + min(10.0, self.opt.step_timeout)
            while True:
                found = copy_match(rec.text, pane.history())
                if found is not None:
                    self.copied = found
                    return found, ""
                if time.monotonic() > deadline:
                    raise Outcome(f"nothing on the screen matches {rec.text!r}")
                time.sleep(0.2)
        if d == "paste":
            if self.copied is None:
                raise Outcome("paste without a copy before it")
            self.mark(pane)
            pane.type(self.copied)
            return self.after_typing(pane, nxt, None)
        if d == "check":
            self.settle(pane)
            status = self.status.get(pane.id)
            if status is None:
                raise Outcome("check: no command status in this pane")
            if status != 0:
                raise Outcome(f"exit status {status}")
            return "", ""
        if d == "open":
            return f"skipped: page to visit (recorded, not opened): {rec.text}", ""
        if d == "tmux":
            try:
                self.term.command(shlex.split(rec.text))
            except (TerminalError, ValueError) as e:
                raise Outcome(str(e)) from None
            new = self.pane()
            if new.id != pane.id and not new.tail:
                self.term.wait_ready(new, 10)
            return f"now in pane {new.id}", ""
        return f"skipped: unknown directive {d!r}", ""

    def command(self, rec: StepRecord, nxt: str | None):
        text = rec.text
        for name in rec.placeholders:
            if name in self.opt.sets:
                text = text.replace(name, self.opt.sets[name])
            else:
                return f"skipped: placeholder the learner replaces: --set {name}=VALUE", ""
        pane = self.pane()
        note = ""
        if pane.busy() and not pane.shells:
            pane, note = self.free_pane(pane)
        kind = pane.shells[-1] if pane.shells else None
        if kind is None and pane.busy():
            kind = self.settle_nested(pane)
        self.mark(pane)
        if kind is not None:
            return self.nested_command(pane, kind, rec, text, nxt), kind
        lines = text.split("\n")
        pane.type(text + "\n")
        if nxt in ("wait", "longwait"):
            self.status[pane.id] = None
            return note or "started", "outer"
        # Followed by keys: judged if it ends at once, else left running for them.
        if not self.outer_result(pane, rec, lines, patience=1.5 if nxt in FOLLOWERS else None):
            self.status[pane.id] = None
            return note or "started", "outer"
        return note, "outer"

    def outer_result(self, pane: Pane, rec: StepRecord, lines: list[str],
                     patience: float | None = None) -> bool:
        """Wait for one marker per typed line (or a nested shell, or the limit);
        fail at the line of the first command whose prompt shows a non-zero status.
        With `patience`, a command still running after that long is left running
        (False): the next steps type into it."""
        t0 = time.monotonic()
        deadline = t0 + self.opt.step_timeout
        marks: list[tuple[str, int | None]] = []
        buf = ""
        idle = 0                # polls in a row at a quiet outer prompt
        while True:
            buf += pane.read()
            for m in self.term.prompt_mark.finditer(buf):
                marks.append((m.group(1), int(m.group(2)) if m.group(2) else None))
            cut = buf.rfind("\x07")
            buf = buf[cut + 1:] if cut >= 0 else buf[-200:]
            fg = pane.foreground()
            if fg is None:                      # the shell itself ended (exit, exec, a signal)
                raise Outcome("the shell ended")
            busy = fg[1] != fg[0]
            at_prompt = bool(marks) and marks[-1][0] == "P" and not busy
            if at_prompt and len(marks) >= len(lines):
                break
            # Fewer prompts than lines: a program read some of them. Believe the
            # prompt only when it stays idle and quiet for a while.
            idle = idle + 1 if at_prompt and pane.quiet_for() > 1.0 else 0
            if idle >= 10:
                break
            if busy and pane.quiet_for() > SETTLE:
                kind = pane.nested_prompt()
                if kind is not None:
                    pane.shells.append(kind)
                    self.status[pane.id] = 0
                    return True
            if patience is not None and busy and time.monotonic() - t0 > patience:
                return False
            if time.monotonic() > deadline:
                extra = self.interrupt(pane)
                raise Outcome(f"still running after {self.opt.step_timeout:g}s (interrupted){extra}")
            time.sleep(POLL)
        start = 0               # the line the current command started on
        for i, (kind, status) in enumerate(marks[:len(lines)]):
            if kind != "P":
                continue
            body = lines[i].strip()
            if status and body and not body.startswith("#"):
                self.status[pane.id] = status
                first = start
                while first < i and not lines[first].strip():
                    first += 1
                raise Outcome(f"exit status {status}",
                              rec.line + 1 + first if len(lines) > 1 else None)
            start = i + 1
        self.status[pane.id] = marks[-1][1] if marks else None
        return True

    def nested_command(self, pane: Pane, kind: str, rec: StepRecord, text: str, nxt: str | None) -> str:
        """A command typed into the nested shell that waits at the pane's cursor."""
        before = self.started[pane.id]
        pane.type(text + "\n")
        if nxt in FOLLOWERS:
            self.status[pane.id] = None
            return f"typed into the nested {kind} shell"
        back = self.wait_nested(pane)
        if back == "outer":
            pane.shells.clear()
            self.status[pane.id] = self.last_outer_status(pane)
            return f"the nested {kind} shell ended"
        if back is None:
            self.interrupt(pane)
            raise Outcome(f"the nested {kind} shell did not come back to its prompt within "
                          f"{self.opt.step_timeout:g}s (interrupted)")
        output = strip_ansi(pane.since(before))
        if kind == "python":
            if TRACEBACK.search(output):
                raise Outcome("python raised an exception")
            self.status[pane.id] = 0
            return "in the nested python shell"
        pane.read()
        probe = pane.offset
        pane.type('echo "__LD""N_$?_"\n')
        deadline = time.monotonic() + min(10.0, self.opt.step_timeout)
        while time.monotonic() < deadline:
            pane.read()
            m = list(NESTED_STATUS.finditer(strip_ansi(pane.since(probe))))
            if m:
                status = int(m[-1].group(1))
                self.wait_nested(pane)
                self.status[pane.id] = status
                if status:           # the status of the block's last command
                    lines = text.count("\n")
                    raise Outcome(f"exit status {status} (in the nested {kind} shell)",
                                  rec.line + 1 + lines if lines else None)
                return f"in the nested {kind} shell"
            time.sleep(POLL)
        return f"in the nested {kind} shell (status unknown)"

    def wait_nested(self, pane: Pane) -> str | None:
        """Until the nested shell shows its prompt again ("nested"), the outer
        shell is back ("outer"), or the limit (None)."""
        deadline = time.monotonic() + self.opt.step_timeout
        time.sleep(0.1)
        while time.monotonic() < deadline:
            pane.read()
            if not pane.busy() and self.term.prompt_mark.search(pane.tail[-300:]):
                return "outer"
            if pane.quiet_for() > 0.3 and pane.nested_prompt() is not None:
                return "nested"
            time.sleep(POLL)
        return None

    def last_outer_status(self, pane: Pane) -> int | None:
        found = [m for m in self.term.prompt_mark.finditer(pane.tail) if m.group(1) == "P"]
        return int(found[-1].group(2)) if found else None

    # -- panes ----------------------------------------------------------------
    def mark(self, pane: Pane) -> None:
        pane.read()
        self.started[pane.id] = pane.offset

    def settle_nested(self, pane: Pane) -> str | None:
        """A busy pane: a nested shell at its prompt, or a program (None)."""
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            pane.read()
            if pane.quiet_for() > 0.3:
                kind = pane.nested_prompt()
                if kind is not None:
                    pane.shells.append(kind)
                    return kind
            time.sleep(POLL)
        return None

    def free_pane(self, pane: Pane) -> tuple[Pane, str]:
        """The active pane runs something: its end, its nested shell, or a new window."""
        deadline = time.monotonic() + BUSY_GRACE
        nudged = False
        while time.monotonic() < deadline:
            pane.read()
            if not pane.busy():
                return pane, ""
            if pane.quiet_for() > 0.3 and pane.nested_prompt() is not None:
                return pane, ""
            if not nudged and pane.quiet_for() > 0.8:
                # `kubectl run -ti` / `attach`: "If you don't see a command prompt, try
                # pressing enter": the shell's prompt came before the terminal was attached.
                pane.key("Enter")
                nudged = True
            time.sleep(POLL)
        st = pane.state()
        what = st.command if st else "a program"
        self.term.tmux("new-window", "-c", str(self.term.cwd))
        new = self.pane()
        self.term.wait_ready(new, 10)
        self.auto_windows.append((pane.id, new.id))
        return new, f"{what} still runs in pane {pane.id}: ran in a new window, as a learner would"

    def key_target(self, pane: Pane, key: str) -> Pane:
        """^C/^D at an idle prompt of a window the runner opened: meant for the
        program it was opened beside (the learner goes back to that window)."""
        if key not in ("C-c", "C-d") or not self.auto_windows or pane.busy():
            return pane
        busy_id, opened = self.auto_windows[-1]
        if opened != pane.id:
            return pane
        self.auto_windows.pop()
        self.term.tmux("kill-pane", "-t", opened, check=False)
        self.term.tmux("select-pane", "-t", busy_id, check=False)
        return self.term.pane(busy_id)

    def after_typing(self, pane: Pane, nxt: str | None, key: str | None):
        """After key/keys/paste: when the next step is not for this program, let it
        finish. ^D may end the pane's shell: until tmux has closed the pane, the
        next step would find it still active."""
        if key == "C-d":
            t0 = time.monotonic()
            while time.monotonic() < t0 + 2.0:
                fg = pane.foreground()
                if fg is None or fg[0] != fg[1] or time.monotonic() > t0 + 1.0:
                    break           # gone; a program got it; or the shell stays (IGNOREEOF)
                time.sleep(POLL)
        if nxt in FOLLOWERS:
            return "", ""
        self.settle(pane)
        return "", ""

    def settle(self, pane: Pane, quiet: float = 0.4, limit: float | None = None) -> None:
        """Give the pane a moment: until a prompt (outer or nested), quiet output,
        or the pane is gone (its shell ended: tmux shows another one)."""
        deadline = time.monotonic() + (limit if limit is not None else min(5.0, self.opt.step_timeout))
        while time.monotonic() < deadline:
            pane.read()
            fg = pane.foreground()
            if fg is None:
                return
            if fg[0] == fg[1]:                      # the outer shell has the terminal
                pane.shells.clear()
                found = self.last_outer_status(pane)
                if found is not None and pane.quiet_for() > 0.1:
                    if self.started.get(pane.id, 0) < pane.offset:
                        self.status[pane.id] = found
                    return
            elif pane.quiet_for() > quiet:
                return
            time.sleep(POLL)

    def wait_text(self, pane: Pane, text: str, limit: float) -> bool:
        deadline = time.monotonic() + limit
        start = self.started.get(pane.id, 0)
        seen = ""
        # Read from where the command was typed: the text may already be there.
        seen = strip_ansi(pane.since(start))
        while True:
            if text in seen:
                return True
            chunk = pane.read()
            seen = (seen + strip_ansi(chunk))[-(len(text) + 65536):]
            if text in seen:
                return True
            if text in pane.screen(HEIGHT_LINES):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)

    # -- when things go wrong -----------------------------------------------
    def interrupt(self, pane: Pane) -> str:
        """Stop what runs in the pane: ^C quickly, again, ^\\, then kill its process group."""
        for key in ("C-c", "C-c", "C-\\"):
            pane.key(key)
            if self.back_at_prompt(pane, 1.0):
                return ""
        fg = pane.foreground()
        if fg is not None:
            shell, group, state = fg
            if state == "T":
                os.kill(shell, signal.SIGCONT)
            if group != shell:
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.killpg(group, sig)
                    except OSError:
                        pass
                    if self.back_at_prompt(pane, 1.0):
                        return " (its process group was killed)"
        return ""

    def back_at_prompt(self, pane: Pane, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pane.read()
            if not pane.busy():
                pane.shells.clear()
                return True
            if pane.quiet_for() > 0.3 and pane.nested_prompt() is not None:
                return True
            time.sleep(POLL)
        return False

    def recover(self) -> str:
        """After a failure: the active pane must be usable for the next step."""
        try:
            pane = self.pane()
        except TerminalError:
            return ""
        fg = pane.foreground()
        if fg is not None and fg[2] == "T":          # the shell stopped itself (kill -STOP $$)
            os.kill(fg[0], signal.SIGCONT)
            if self.probe(pane):
                return "; the shell was stopped: continued"
        st = pane.state()
        if st is None:
            return ""
        if not st.dead and not pane.busy() and self.probe(pane):
            return ""
        if pane.busy() and not pane.shells and self.interrupt(pane) is not None and not pane.busy():
            return ""
        if pane.shells and pane.nested_prompt() is not None:
            return ""
        try:
            self.term.respawn(pane)
        except TerminalError as e:
            return f"; the shell could not be restarted: {e}"
        self.status.pop(pane.id, None)
        return "; the shell was unusable: restarted in the saved folder with the saved variables"

    def probe(self, pane: Pane) -> bool:
        """Does the outer shell answer? (Enter, then a fresh prompt.)"""
        pane.read()
        before = len(list(self.term.prompt_mark.finditer(pane.tail)))
        pane.key("Enter")
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            pane.read()
            if len(list(self.term.prompt_mark.finditer(pane.tail))) > before or \
                    (len(pane.tail) >= 16000 and pane.quiet_for() < 0.5 and not pane.busy()):
                return True
            time.sleep(POLL)
        return False


HEIGHT_LINES = 50


def copy_match(pattern: str, screen: str) -> str | None:
    """The last match of `pattern` on the screen, line breaks removed (a mouse copy)."""
    try:
        found = list(re.finditer(pattern, screen, re.DOTALL))
    except re.error:
        found = [m for m in re.finditer(re.escape(pattern), screen)]
    if not found:
        return None
    return found[-1].group(0).replace("\n", "")
