"""Command line: argument parsing only; the work is done by build, labs, check, pdf, watch."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .diagnostics import os_error_line

SUBCOMMANDS = {
    "labs": ("labdeck.labs.commands", "extract lab scripts (labs) or run them (labs run)"),
    "check": ("labdeck.check", "check every slide in headless Chromium"),
    "pdf": ("labdeck.pdf", "print a deck to PDF through Chromium"),
    "new": ("labdeck.new", "write a starter deck into a new folder"),
}


# `python build.py` or the `labdeck` console script: messages name what was typed.
PROG = "labdeck" if Path(sys.argv[0]).name == "labdeck" else "build.py"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Build remark-syntax Markdown decks into pre-rendered offline HTML.",
        epilog="Subcommands: " + "; ".join(f"'{k} ...' {v[1]}" for k, v in SUBCOMMANDS.items())
               + f". Run '{PROG} SUBCOMMAND --help' for their options.")
    p.add_argument("manifests", nargs="*", type=Path, metavar="MANIFEST",
                   help="deck manifests (YAML); default: every slides/*.yml")
    p.add_argument("--source", type=Path, metavar="DIR",
                   help="source root chapters and images are resolved against (default: the manifest's folder)")
    p.add_argument("--out", type=Path, default=Path("dist"), metavar="DIR", help="output folder (default: dist)")
    p.add_argument("--strict", action="store_true", help="warnings fail the build")
    p.add_argument("--exclude", action="append", default=[], metavar="CLASS",
                   help="also leave out slides with this class (repeatable), e.g. --exclude extra-details")
    p.add_argument("--zip", action="store_true", help="also write DIR/slides.zip for offline download")
    p.add_argument("--fetch-remote", action="store_true",
                   help="download remote pictures once (into the cache) and ship them in DIR")
    p.add_argument("--single-file", action="store_true",
                   help="also write DIR/single/<deck>.html: one self-contained file per deck")
    p.add_argument("--watch", action="store_true", help="rebuild when a source file changes")
    p.add_argument("--serve", action="store_true", help="with --watch: serve DIR with live reload")
    p.add_argument("--host", default="127.0.0.1", help="--serve address (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="--serve port (default: 8000)")
    p.add_argument("--templates", type=Path, metavar="DIR",
                   help="the project's templates and assets, overriding labdeck's file by file (default: ./templates)")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def new_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog=f"{PROG} new", description="Write a starter deck into a new folder.")
    p.add_argument("folder", type=Path, metavar="FOLDER", help="the folder to create (or an empty one)")
    args = p.parse_args(argv)
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "new":
        return new_main(argv[1:])
    if argv and argv[0] in SUBCOMMANDS:
        import importlib
        module = importlib.import_module(SUBCOMMANDS[argv[0]][0])
        return module.main(argv[1:])
    args = parser().parse_args(argv)
    from .build import build, default_manifests, print_diagnostics
    manifests = args.manifests or default_manifests()
    if not manifests:
        print(f"{PROG}: error: no manifest given and none in slides/", file=sys.stderr)
        return 2
    if args.watch or args.serve:
        from .serve.watch import watch
        return watch(manifests, args)
    try:
        result = build(manifests, args.out, args.source, args.exclude, args.strict, args.zip,
                       templates=args.templates, fetch_remote=args.fetch_remote, single_file=args.single_file)
    except OSError as e:        # an output folder that cannot be written: one line, no traceback
        print(os_error_line(e, args.out), file=sys.stderr)
        return 1
    print_diagnostics(result)
    if not result.ok:
        print(f"{PROG}: {len(result.failed)} deck(s) failed: "
              + ", ".join(str(m) for m in result.failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
