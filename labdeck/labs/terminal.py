"""The lab's terminal: a private tmux server, its panes and windows, and what
each pane's shells are doing.

Every pane starts the same outer shell (`bash --noediting -i` with labdeck's
rc file): its prompt carries an invisible marker (an OSC title sequence with a
per-run token and `$?`), read from the pane's raw output (tmux pipe-pane into a
file per pane). PS2 carries another marker, so each typed line yields exactly
one marker: that is how a multi-line block reports the status of each of its
commands. Before each prompt the outer shell saves its folder and the
variables the labs set; a new pane, window or a restarted shell starts from
that state.

Whether a pane is busy comes from the kernel: the terminal's foreground
process group is the shell's own when it waits at its prompt. A busy pane
whose cursor sits after something that looks like a prompt (`/ # `, `>>> `,
`root@pod:/# `...) and that stays quiet runs a nested shell.

Every process started by a run carries LABDECK_RUN=<token> in its
environment; `close()` ends the tmux server and then every process that still
carries it, whatever session or process group it moved to (setsid, nohup, &).
"""
from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

WIDTH, HEIGHT = 200, 50
READ_CAP = 1 << 20          # bytes of a pane's output looked at per read (the rest is skipped)
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]"
                   r"|\x1b[=>NOM78c]|\r")

# Nested shells' prompts, as the text left of the cursor: (kind, regex).
DEFAULT_PROMPTS: tuple[tuple[str, str], ...] = (
    ("python", r"^(?:>>>|\.\.\.) $"),
    ("sh", r"^[\w.-]+@[\w.-]+:[^\n]*[#$] $"),            # bash/ash in a container: root@pod:/#
    ("sh", r"^(?:sh|bash|ash|dash)-[\d.]+[#$] $"),        # sh-5.2$
    ("sh", r"^(?:[~/][^\s]*\s)?[#$] $"),                  # busybox: / #   ~ $   $
    ("sh", r"^\[[^\]\n]+\][#$] $"),                       # [root@host /]#
)

KEY_NAMES = {"enter": "Enter", "return": "Enter", "escape": "Escape", "esc": "Escape",
             "tab": "Tab", "space": "Space", "backspace": "BSpace", "bspace": "BSpace",
             "up": "Up", "down": "Down", "left": "Left", "right": "Right", "home": "Home",
             "end": "End", "pageup": "PageUp", "pagedown": "PageDown", "pgup": "PageUp",
             "pgdn": "PageDown", "delete": "DC", "insert": "IC"}


def tmux_key(name: str) -> str | None:
    """A key as the slides name it (`^C`, `Enter`, `Up`, `F5`, `x`) → tmux's name; None if unknown."""
    if len(name) == 2 and name[0] == "^":
        c = name[1]
        if c == "[":
            return "Escape"
        if c == "?":
            return "BSpace"
        if c.isalpha() or c in "@\\]^_":
            return "C-" + c.lower()
    if name.lower() in KEY_NAMES:
        return KEY_NAMES[name.lower()]
    if re.fullmatch(r"[Ff](?:[1-9]|1[0-2])", name):
        return name.upper()
    if re.fullmatch(r"[CM]-.", name):          # tmux's own spelling
        return name
    if len(name) == 1:
        return name
    return None


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


class TerminalError(Exception):
    pass


RC = r'''# labdeck: the outer shell of every pane
set +H +o history
stty -ixon 2>/dev/null
[ -n "$LABDECK_MAIN" ] && IGNOREEOF=1000      # ^D at the first pane's prompt does not end the lab
unset LABDECK_MAIN
__ld_state=@STATE@
__ld_base=@BASE@
# The folder and the variables the labs set, saved at every prompt, restored by new shells.
__ld_save() {
  local s=$?
  { printf 'cd %q 2>/dev/null\n' "$PWD"
    declare -p $(compgen -v | grep -vxF -f "$__ld_base") 2>/dev/null | grep -v '^declare -[a-zA-Z]*r'
  } > "$__ld_state.tmp" 2>/dev/null && mv -f "$__ld_state.tmp" "$__ld_state"
  return $s
}
# `exit` at the first pane's prompt would close the lab's terminal.
[ -n "$IGNOREEOF" ] && exit() {
  if [ "${BASH_SUBSHELL:-0}" = 0 ] && [ -z "$LABDECK_ALLOW_EXIT" ]; then
    echo "labdeck: 'exit' in the lab's first shell would end it: ignored" >&2; return 1
  fi
  builtin exit "$@"
}
[ -f "$__ld_state" ] && . "$__ld_state"
PROMPT_COMMAND=__ld_save
PS1='\[\e]2;__LDP@TOKEN@_$?__\a\]$ '
PS2='\[\e]2;__LDC@TOKEN@__\a\]> '
'''


@dataclass
class PaneState:
    pid: int
    dead: bool
    cursor_x: int
    cursor_y: int
    command: str


class Pane:
    """One tmux pane and the reading position in its raw output."""

    def __init__(self, term: "Terminal", pane_id: str):
        self.term = term
        self.id = pane_id
        self.log = term.folder / f"pane{pane_id.lstrip('%')}.log"
        self.offset = 0            # bytes of the log already read
        self.tail = ""             # the last few KB read, ANSI left in (markers live there)
        self.last_output = time.monotonic()
        self.shells: list[str] = []   # nested shells entered (kinds), innermost last

    # -- output -------------------------------------------------------------
    def read(self) -> str:
        """New output since the last read (at most READ_CAP bytes: a flood is skipped)."""
        try:
            size = self.log.stat().st_size
        except OSError:
            return ""
        if size <= self.offset:
            return ""
        start = max(self.offset, size - READ_CAP)
        with open(self.log, "rb") as f:
            f.seek(start)
            data = f.read(size - start)
        self.offset = start + len(data)
        text = data.decode("utf-8", "replace")
        self.tail = (self.tail + text)[-16384:]
        self.last_output = time.monotonic()
        return text

    def since(self, offset: int, cap: int = READ_CAP) -> str:
        """The pane's output from byte `offset` of its log (the last `cap` bytes of it)."""
        try:
            with open(self.log, "rb") as f:
                size = f.seek(0, 2)
                f.seek(max(offset, size - cap))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def quiet_for(self) -> float:
        return time.monotonic() - self.last_output

    # -- state ---------------------------------------------------------------
    def state(self) -> PaneState | None:
        out = self.term.tmux("display-message", "-p", "-t", self.id,
                             "#{pane_pid} #{pane_dead} #{cursor_x} #{cursor_y} #{pane_current_command}",
                             check=False)
        parts = out.split(" ", 4)
        if len(parts) < 4 or not parts[0].isdigit():
            return None
        return PaneState(int(parts[0]), parts[1] == "1", int(parts[2]), int(parts[3]),
                         parts[4].strip() if len(parts) > 4 else "")

    def foreground(self) -> tuple[int, int, str] | None:
        """(shell pid, foreground process group, shell's run state) from /proc."""
        st = self.state()
        if st is None or st.dead:
            return None
        try:
            fields = Path(f"/proc/{st.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return st.pid, int(fields[5]), fields[0]

    def busy(self) -> bool:
        fg = self.foreground()
        return fg is not None and fg[1] != fg[0]

    def cursor_line(self) -> str:
        st = self.state()
        if st is None:
            return ""
        screen = self.term.tmux("capture-pane", "-p", "-t", self.id, check=False).split("\n")
        line = screen[st.cursor_y] if st.cursor_y < len(screen) else ""
        return line[:st.cursor_x] + (" " if len(line) < st.cursor_x else "")

    def nested_prompt(self) -> str | None:
        """The kind of nested shell waiting for input at the cursor, if any."""
        line = self.cursor_line()
        if not line.endswith(" "):
            line = line + " " if re.search(r"[#$>]$", line) else line
        # Lines typed ahead leave one prompt per line on the cursor's line
        # ("/ # / # "): the last of them is what counts.
        tails = [line] + [line[i + 1:] for i, c in enumerate(line[:-1]) if c == " "]
        for kind, pattern in self.term.prompts:
            if any(re.search(pattern, t) for t in tails):
                return kind
        return None

    def screen(self, lines: int = 25) -> str:
        text = self.term.tmux("capture-pane", "-p", "-J", "-t", self.id, "-S", "-300", check=False)
        return "\n".join(text.rstrip("\n").split("\n")[-lines:])

    def history(self) -> str:
        return self.term.tmux("capture-pane", "-p", "-J", "-t", self.id, "-S", "-2000", check=False)

    # -- input ---------------------------------------------------------------
    def type(self, text: str) -> None:
        if text:
            self.term.tmux("send-keys", "-t", self.id, "-l", "--", text)

    def key(self, name: str) -> None:
        self.term.tmux("send-keys", "-t", self.id, name)

    def gone(self) -> bool:
        return self.state() is None


class Terminal:
    """A private tmux server in `folder`, one session, the outer shell in its first pane."""

    def __init__(self, folder: Path, cwd: Path, env: dict[str, str] | None = None,
                 prompts: list[tuple[str, str]] | None = None):
        self.folder = folder
        self.cwd = cwd
        self.token = secrets.token_hex(6)
        self.socket = f"labdeck-{self.token}"     # in tmux's own folder: a short path
        self.prompts = list(prompts or []) + list(DEFAULT_PROMPTS)
        self.prompt_mark = re.compile(rf"\x1b\]2;__LD([PC]){self.token}(?:_(\d+))?__\x07")
        self.state_file = folder / "state.sh"
        base = folder / "base.vars"
        rc = folder / "rc.bash"
        rc.write_text(RC.replace("@STATE@", shlex.quote(str(self.state_file)))
                      .replace("@BASE@", shlex.quote(str(base))).replace("@TOKEN@", self.token))
        self.env = dict(os.environ)
        self.env.update({"TERM": "xterm-256color", "PAGER": "cat", "GIT_PAGER": "cat",
                         "SYSTEMD_PAGER": "", "LC_ALL": self.env.get("LC_ALL", "C.UTF-8"),
                         "LABDECK_RUN": self.token})
        for k in ("TMUX", "TMUX_PANE", "PROMPT_COMMAND", "BASH_ENV", "ENV"):
            self.env.pop(k, None)
        self.env.update(env or {})
        # Variables a fresh shell has, so the state file holds only what the labs set.
        names = subprocess.run(["bash", "--norc", "--noprofile", "-i", "-c", "compgen -v"],
                               env=self.env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        base.write_text(names.stdout + "\n".join(["__ld_s", "__ld_state", "__ld_base", "s",
                                                  "LABDECK_MAIN", "IGNOREEOF"]) + "\n")
        # A pane's shell waits (2 s at most) for its output log, so that its first
        # prompt is read: tmux attaches pipe-pane just after the pane starts.
        log = shlex.quote(str(folder)) + '/pane${TMUX_PANE#%}.log'
        self.shell_cmd = (f"i=0; until [ -e {log} ] || [ $i -ge 40 ]; do sleep 0.05; i=$((i+1)); done; "
                          f"exec bash --rcfile {shlex.quote(str(rc))} --noediting -i")
        self.panes: dict[str, Pane] = {}
        self.started = False

    # -- tmux ----------------------------------------------------------------
    def tmux(self, *args: str, check: bool = True, timeout: float = 20) -> str:
        try:
            p = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                               text=True, env=self.env, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            if check:
                raise TerminalError(f"tmux {args[0]} did not answer") from None
            return ""
        if p.returncode != 0 and check:
            raise TerminalError(f"tmux {' '.join(args)}: {p.stderr.strip()}")
        return p.stdout

    def start(self) -> Pane:
        pipe = f"cat >> {shlex.quote(str(self.folder))}/pane#{{s/%//:pane_id}}.log"
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "lab", "-x", str(WIDTH),
                  "-y", str(HEIGHT), "-c", str(self.cwd), "export LABDECK_MAIN=1; " + self.shell_cmd)
        self.started = True
        for opt in (("history-limit", "5000"), ("default-command", self.shell_cmd),
                    ("remain-on-exit", "off"), ("status", "off"), ("exit-empty", "off"),
                    ("exit-unattached", "off"), ("destroy-unattached", "off")):
            self.tmux("set-option", "-g", *opt, check=False)
        for hook in ("after-split-window", "after-new-window"):
            self.tmux("set-hook", "-g", hook, f"pipe-pane -O {shlex.quote(pipe)}")
        main = self.active()
        self.tmux("set-option", "-p", "-t", main.id, "remain-on-exit", "on", check=False)
        self.tmux("pipe-pane", "-t", main.id, "-O", pipe)
        self.main = main
        if not self.wait_ready(main, 20):
            raise TerminalError("the lab's shell did not show its prompt")
        return main

    def pane(self, pane_id: str) -> Pane:
        if pane_id not in self.panes:
            self.panes[pane_id] = Pane(self, pane_id)
        return self.panes[pane_id]

    def active(self) -> Pane:
        out = self.tmux("display-message", "-p", "-t", "lab:", "#{pane_id}").strip()
        return self.pane(out)

    def alive(self) -> bool:
        return bool(self.tmux("list-sessions", check=False).strip())

    def wait_ready(self, pane: Pane, timeout: float) -> bool:
        """Wait until a fresh outer prompt shows in `pane` (a new shell's first one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pane.read()
            if self.prompt_mark.search(pane.tail):
                return True
            time.sleep(0.05)
        return False

    def command(self, args: list[str]) -> str:
        """A `tmux` directive, run on the lab's session."""
        return self.tmux(*args)

    def respawn(self, pane: Pane) -> None:
        """A new outer shell in `pane` (the old one dead or wedged), from the saved state."""
        main = "export LABDECK_MAIN=1; " if pane.id == self.main.id else ""
        self.tmux("respawn-pane", "-k", "-t", pane.id, "-c", str(self.cwd), main + self.shell_cmd)
        pane.shells.clear()
        pane.tail = ""
        if not self.wait_ready(pane, 20):
            raise TerminalError("the restarted shell did not show its prompt")

    # -- the end -------------------------------------------------------------
    def close(self) -> None:
        if self.started:
            self.tmux("kill-server", check=False, timeout=5)
        kill_marked(self.token)


def kill_marked(token: str, rounds: int = 5) -> int:
    """Kill every process whose environment carries LABDECK_RUN=token; returns how many."""
    mark = f"LABDECK_RUN={token}".encode()
    killed = 0
    me = os.getpid()
    for _ in range(rounds):
        found = []
        for env in Path("/proc").glob("[0-9]*/environ"):
            try:
                pid = int(env.parent.name)
                if pid != me and mark in env.read_bytes().split(b"\0"):
                    found.append(pid)
            except (OSError, ValueError):
                continue
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.05)
    return killed
