"""The lab directives: the one table extraction, runner, scripts and docs read.

A fenced block inside `.lab[` is a step; its info word is the directive. The
meaning of each one comes from how container.training's authors use them (a
learner at a terminal, possibly split in tmux panes):
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Directive:
    name: str
    argument: str       # what the text after the word is
    runner: str         # what `labs run` does with it (docs/labs.md shows this)
    script: str         # what the generated scripts do with it
    follows: bool = False        # talks to the program the command before it started
    limit: float | None = None   # seconds a wait may take in the scripts


TABLE: tuple[Directive, ...] = (
    Directive("bash", "command(s)",
              "types the command into the active pane and waits for a prompt: the outer "
              "shell's (its status judged, line by line in a block) or a nested shell's "
              "(sh, bash, python, `kubectl exec -ti`...)",
              "the command; inside a nested shell's region, sent to that shell"),
    Directive("hide", "command(s)", "as `bash` (the command is not shown on the slide)",
              "as `bash`"),
    Directive("wait", "text",
              "waits until the text shows in the active pane (up to --step-timeout, 120 s by "
              "default); the command before it may keep running",
              "with ^C after it: a bounded run until the text shows (60 s); without: the "
              "command runs in the background until the text shows", True, 60.0),
    Directive("longwait", "text", "as `wait`, five times as long", "as `wait`, 600 s", True, 600.0),
    Directive("key", "key name",
              "sends one key by name: ^C, ^D, ^J, ^[, Enter, Escape, Tab, Space, "
              "Up/Down/Left/Right, Home/End, PageUp/PageDown, F1-F12, or one character",
              "^C stops the command before it (bounded run); ^D ends a nested shell; "
              "other keys are noted", True),
    Directive("keys", "text",
              "types the text as is (a trailing space is kept); never a command by itself; "
              "a lone `^C`-style name is that key",
              "noted in a comment, never run", True),
    Directive("copy", "regex",
              "remembers the last match of the regex on the pane's screen (line breaks removed)",
              "noted", True),
    Directive("paste", "", "types what `copy` remembered", "noted", True),
    Directive("check", "", "the last command in the active pane must have exited with status 0",
              "nothing to do: the script stops at a failing command"),
    Directive("open", "URL", "recorded, not opened", "prints the URL"),
    Directive("tmux", "tmux command",
              "runs it on the lab's tmux session (split-pane, select-pane, last-pane, "
              "new-window, kill-pane...): new panes start in the outer shell's folder with "
              "its variables",
              "split-pane/new-window: the command before it keeps running in the "
              "background (a watcher); others noted"),
)

BY_NAME = {d.name: d for d in TABLE}
NAMES = frozenset(BY_NAME)
COMMANDS = frozenset({"bash", "hide"})          # typed as shell commands
FOLLOWERS = frozenset(d.name for d in TABLE if d.follows)
WAIT_LIMIT = {d.name: d.limit for d in TABLE if d.limit}
VERBATIM = frozenset({"keys"})                  # a trailing space matters
