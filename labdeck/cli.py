"""The command line: one argparse parser with subcommands, and nothing else.

    labdeck [build] [MANIFEST ...]      build decks (the default command)
    labdeck labs [MANIFEST ...]         extract lab scripts
    labdeck labs run MANIFEST           run them in a real terminal
    labdeck check [MANIFEST ...]        check every slide in headless Chromium
    labdeck pdf MANIFEST                print a deck to PDF
    labdeck new FOLDER                  a starter deck

Everything below this module is a library: it returns results or raises, it
never exits the process. Diagnostics go through the `labdeck` logger; this
module prints them and counts them (MkDocs' way), so that `--strict` fails a
run that logged a warning.
"""
from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from pathlib import Path

from . import __version__
from .diagnostics import CountHandler, StderrHandler, log, os_error_line

# `python build.py` or the `labdeck` console script: messages name what was typed.
PROG = "labdeck" if Path(sys.argv[0]).name == "labdeck" else "build.py"
COMMANDS = ("build", "labs", "check", "pdf", "new")


def _deck_arguments(p: argparse.ArgumentParser, many: bool = True, out: str = "dist") -> None:
    """The options every command that reads decks takes, spelled the same everywhere."""
    if many:
        p.add_argument("manifests", nargs="*", type=Path, metavar="MANIFEST",
                       help="deck manifests (YAML); default: every slides/*.yml and slides/*.yaml")
    else:
        p.add_argument("manifest", type=Path, metavar="MANIFEST", help="deck manifest (YAML)")
    p.add_argument("--source", type=Path, metavar="DIR",
                   help="source root chapters and images are resolved against (default: the manifest's folder)")
    p.add_argument("--out", type=Path, default=Path(out), metavar="DIR", help=f"output folder (default: {out})")
    _exclude_argument(p)
    p.add_argument("--strict", action="store_true", help="warnings fail the command")


def _exclude_argument(p: argparse.ArgumentParser) -> None:
    """--exclude, the same in every command that reads decks (labs included)."""
    p.add_argument("--exclude", action="append", default=[], metavar="CLASS",
                   help="also leave out slides with this class, besides the manifest's own "
                        "(repeatable), e.g. --exclude extra-details")


def _render_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--templates", type=Path, metavar="DIR",
                   help="the project's templates and assets, overriding labdeck's file by file "
                        "(default: ./templates)")


def parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only`, the other commands' options are left
    out (their modules, Playwright's among them, are not imported for a build)."""
    def wanted(name: str) -> bool:
        return only is None or only == name

    p = argparse.ArgumentParser(
        prog=PROG, description="Build remark-syntax Markdown decks into pre-rendered offline HTML; "
                               "extract and run their labs; check them in Chromium.",
        epilog=f"Without a command, '{PROG} [MANIFEST ...]' is '{PROG} build [MANIFEST ...]'. "
               f"Run '{PROG} COMMAND --help' for a command's options.")
    p.add_argument("--version", action="version", version=f"labdeck {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    b = sub.add_parser("build", help="build decks into HTML (the default command)",
                       description="Build remark-syntax Markdown decks into pre-rendered offline HTML.")
    if wanted("build"):
        _build_arguments(b)

    labs = sub.add_parser("labs", help="extract lab scripts; 'labs run' runs them in a real terminal",
                          description="Extract the lab steps of decks into bash scripts and labs.json "
                                      "(DIR/<deck>/), or run them: 'labs run MANIFEST'.")
    if wanted("labs"):
        _labs_arguments(labs)
    c = sub.add_parser("check", help="check every slide in headless Chromium",
                       description="Build decks and check every slide in headless Chromium.")
    if wanted("check"):
        from . import check
        _deck_arguments(c)
        _render_arguments(c)
        check.add_arguments(c)
    d = sub.add_parser("pdf", help="print a deck to PDF through Chromium",
                       description="Print a deck to PDF through Chromium, one page per slide.")
    if wanted("pdf"):
        from . import pdf
        pdf.add_arguments(d)            # MANIFEST, --out, --source and pdf's own options
        _exclude_argument(d)
        d.add_argument("--strict", action="store_true", help="warnings fail the command")
        _render_arguments(d)
    n = sub.add_parser("new", help="write a starter deck into a new folder",
                       description="Write a starter deck (a manifest, three chapters, a lab) into a new folder.")
    n.add_argument("folder", type=Path, metavar="FOLDER", help="the folder to create (or an empty one)")
    return p


def _build_arguments(b: argparse.ArgumentParser) -> None:
    _deck_arguments(b)
    _render_arguments(b)
    b.add_argument("--zip", action="store_true", help="also write DIR/slides.zip for offline download")
    b.add_argument("--fetch-remote", action="store_true",
                   help="download remote pictures once (into the cache) and ship them in DIR")
    b.add_argument("--single-file", action="store_true",
                   help="also write DIR/single/<deck>.html: one self-contained file per deck")
    b.add_argument("--watch", action="store_true", help="rebuild when a source file changes")
    b.add_argument("--serve", action="store_true", help="with --watch: serve DIR with live reload")
    b.add_argument("--host", default="127.0.0.1", help="--serve address (default: 127.0.0.1)")
    b.add_argument("--port", type=int, default=8000, help="--serve port (default: 8000; 0: any free port)")


def _labs_arguments(labs: argparse.ArgumentParser) -> None:
    from .labs.commands import add_extract_arguments, add_run_arguments
    labs_sub = labs.add_subparsers(dest="labs_command", metavar="{run}", title="commands")
    extract = labs_sub.add_parser("extract", help="write the scripts (the default)",
                                  description=labs.description)
    add_extract_arguments(extract)
    _exclude_argument(extract)
    run = labs_sub.add_parser("run", help="run a deck's lab steps unattended in a real terminal (tmux)",
                              description="Run a deck's lab steps unattended in a real terminal (tmux).")
    add_run_arguments(run)
    _exclude_argument(run)


def with_defaults(argv: list[str]) -> list[str]:
    """`labdeck [MANIFEST ...]` means `labdeck build ...`; `labdeck labs [...]` means `labs extract`."""
    argv = list(argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "build")
    if argv[0] == "labs" and (len(argv) < 2 or argv[1] not in ("run", "extract")):
        argv.insert(1, "extract")
    return argv


def entry() -> None:
    """The program (`labdeck`, `python build.py`, `python -m labdeck`): main(), then exit.

    After a one-shot build nothing is left to do but free the build's million
    objects one by one (0.2-0.4 CPU-s on the corpus, at the end of every cold
    build): the process leaves at once instead and the system takes its memory back.
    Other commands (browsers, temporary folders, lab runs) exit the usual way."""
    global _one_shot
    _one_shot = True
    status = main()
    if _done_with_objects:
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(status)
    sys.exit(status)


_one_shot = False               # run by entry(): the process ends with the command
_done_with_objects = False      # set by a one-shot build, once its output is written and reported


def main(argv: list[str] | None = None) -> int:
    argv = with_defaults(sys.argv[1:] if argv is None else argv)
    args = parser(only=argv[0]).parse_args(argv)
    counter = _log_to_stderr()
    try:
        status = COMMAND[args.command if args.command != "labs" else f"labs {args.labs_command}"](args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    if status == 0 and getattr(args, "strict", False) and counter.count(logging.WARNING):
        print(f"{PROG}: error: {counter.count(logging.WARNING)} warning(s) in strict mode", file=sys.stderr)
        return 1
    return status


_handlers: list[logging.Handler] = []


def _log_to_stderr() -> CountHandler:
    """Print the `labdeck` logger's records on stderr, one line each, and count them."""
    for h in _handlers:
        log.removeHandler(h)
    counter = CountHandler()
    _handlers[:] = [StderrHandler(), counter]
    for h in _handlers:
        log.addHandler(h)
    log.setLevel(logging.INFO)
    log.propagate = False
    return counter


def _manifests(args) -> list[Path] | None:
    from .build import default_manifests
    manifests = args.manifests or default_manifests()
    if not manifests:
        print(f"{PROG} {args.command}: error: no manifest given and none in slides/", file=sys.stderr)
    return manifests


def build_command(args) -> int:
    manifests = _manifests(args)
    if not manifests:
        return 2
    if args.watch or args.serve:
        from .serve.watch import watch
        return watch(manifests, args)
    from .build import build, print_diagnostics
    if _one_shot:
        # This process ends with the build: its objects live until then, and the cycle
        # collector would only walk them again (the build pauses it while it runs; left
        # off, it does not resume at the end just to scan them all once more).
        gc.disable()
    try:
        result = build(manifests, args.out, args.source, args.exclude, args.strict, args.zip,
                       templates=args.templates, fetch_remote=args.fetch_remote, single_file=args.single_file)
    except OSError as e:        # an output folder that cannot be written: one line, no traceback
        print(os_error_line(e, args.out), file=sys.stderr)
        return 1
    print_diagnostics(result)
    global _done_with_objects
    _done_with_objects = True
    if not result.ok:
        print(f"{PROG}: {len(result.failed)} deck(s) failed: "
              + ", ".join(str(m) for m in result.failed), file=sys.stderr)
        return 1
    return 0


def labs_extract_command(args) -> int:
    from .labs.commands import extract
    return extract(args)


def labs_run_command(args) -> int:
    from .labs.commands import run
    return run(args)


def check_command(args) -> int:
    manifests = _manifests(args)
    if not manifests:
        return 2
    from . import check
    from .browser import run_isolated
    # In a thread of its own when the caller already drives Playwright (tests, notebooks).
    return run_isolated(check.run, args, manifests)


def pdf_command(args) -> int:
    from . import pdf
    from .browser import run_isolated
    return run_isolated(pdf.run, args)


def new_command(args) -> int:
    from .new import FolderNotEmpty, new_project
    try:
        written = new_project(args.folder)
    except FolderNotEmpty as e:
        print(f"{PROG} new: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(os_error_line(e, args.folder, "cannot write"), file=sys.stderr)
        return 1
    for path in written:
        print(f"new: {path}")
    print(f"new: now `cd {args.folder}` and run `{PROG}`; open dist/index.html")
    return 0


COMMAND = {"build": build_command, "labs extract": labs_extract_command, "labs run": labs_run_command,
           "check": check_command, "pdf": pdf_command, "new": new_command}


if __name__ == "__main__":
    entry()
