"""`labdeck labs ...`: extract lab scripts, or run the labs unattended.

    labs [MANIFEST ...] [--out DIR]            write dist/labs/<deck>/
    labs run MANIFEST|labs.json [--target local|kind] [--chapter N | --from STEP | --shard K/N]
             [--junit FILE] [--step-timeout S] [--keep-going] [--keep-cluster]
             [--set NAME=VALUE ...] [--skip-placeholders] [--prompt KIND=REGEX ...]

The argument definitions are functions (add_extract_arguments, add_run_arguments)
so that one CLI parser can take them as subcommands (cli.py adds --exclude, spelled
as in every command).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from labdeck.diagnostics import BuildError, os_error_line
from labdeck.labs.extract import StepRecord, collect_steps, unset_variables
from labdeck.labs.script import by_chapter, read_labs, write_labs


def main(argv: list[str]) -> int:
    """`labdeck labs ARGV` (tests and scripts call this; the parser is cli.py's)."""
    from labdeck.cli import main as cli
    return cli(["labs", *map(str, argv)])


class DeckErrors(Exception):
    """The deck has errors (already reported): no labs from it."""


def _load(manifest: Path, source: str | None, exclude: list[str] | None):
    """(deck, steps) of a manifest; BuildError and located errors go up as BuildError."""
    from labdeck.build import load_deck
    # Labs read the deck model only: no HTML to render.
    deck, diags = load_deck(manifest, Path(source) if source else None, exclude or None, render_html=False)
    # A lab block the deck shows but no script can be made of (an unclosed fence): an error here.
    for e in (e for s in deck.slides for b in s.labs for e in b.errors):
        diags.error(e.path, e.line, e.message)
    diags.print(roots=[deck.root])
    if diags.errors:
        raise DeckErrors(str(manifest))
    return deck, collect_steps(deck)


def add_extract_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("manifests", nargs="*", type=Path, help="deck manifests (default: slides/*.yml and slides/*.yaml)")
    ap.add_argument("--out", type=Path, default=Path("dist/labs"), help="output folder")
    ap.add_argument("--source", help="source root (default: the manifest's folder)")


def extract(args: argparse.Namespace) -> int:
    from labdeck.build import default_manifests
    manifests = args.manifests or default_manifests()
    if not manifests:
        print("labs: no manifest given and no slides/*.yml or slides/*.yaml", file=sys.stderr)
        return 2
    status = 0
    for manifest in manifests:
        try:
            deck, steps = _load(manifest, args.source, args.exclude)
        except BuildError as e:
            print(e, file=sys.stderr)
            status = 1
            continue
        except DeckErrors:
            status = 1
            continue
        out = args.out / deck.stem
        try:
            write_labs(steps, out, deck=deck.stem, title=deck.title, manifest=str(manifest),
                       root=deck.root, setup=_declared_setup(deck))
        except OSError as e:
            print(os_error_line(e, out, "cannot write lab scripts"), file=sys.stderr)
            status = 1
            continue
        counts = Counter(s.directive for s in steps)
        detail = ", ".join(f"{k} {v}" for k, v in counts.most_common())
        for name, rec in unset_variables(steps).items():
            print(f"{display(rec.file, deck.root)}:{rec.line}: warning: ${name} is not set by any "
                  f"earlier step (set in the slides' text?): labs run --set {name}=VALUE",
                  file=sys.stderr)
        print(f"labs: {deck.stem}: {len(steps)} steps ({detail or 'none'}) in "
              f"{len(by_chapter(steps))} chapter scripts -> {out}/")
    return status


# ---------------------------------------------------------------------------

def display(file: str, root: Path | None) -> str:
    """A step's file as the user can open it from the current folder."""
    try:
        from labdeck.diagnostics import openable
        return openable(file, [root] if root else [])
    except (ImportError, TypeError):
        return file


def _shown(path: Path) -> str:
    """A path as the user can open it from the current folder."""
    import os
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("../..") else rel


def _declared_setup(deck) -> list[str]:
    value = (getattr(deck, "values", None) or {}).get("labs-setup") or []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def repo_relative(path: Path) -> str:
    """`path` relative to the repository holding it (JUnit `file`, for CI annotations)."""
    path = path.resolve()
    for parent in path.parents:
        if (parent / ".git").exists():
            return path.relative_to(parent).as_posix()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


# ---------------------------------------------------------------------------

def _select(steps: list[StepRecord], chapter: int | None, start: str | None) -> list[StepRecord]:
    if chapter is not None:
        chosen = [s for s in steps if s.chapter == chapter]
        if not chosen and steps:    # a typo must not pass as "nothing to run"
            have = ", ".join(str(c) for c in sorted({s.chapter for s in steps}))
            raise ValueError(f"--chapter {chapter}: no labs in that chapter "
                             f"(chapters with labs: {have})")
        return chosen
    if start:
        if start.isdigit():
            found = [s for s in steps if s.index == int(start)]
        else:
            found = [s for s in steps if s.where == start or
                     (s.where.endswith("/" + start))]
        if not found:
            raise ValueError(f"--from {start}: no such step (give its index or file:line)")
        return [s for s in steps if s.index >= found[0].index]
    return steps


def _parse_sets(items: list[str]) -> dict[str, str]:
    sets = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise ValueError(f"--set {item}: expected NAME=VALUE")
        sets[name] = value
    return sets


def _parse_prompts(items: list[str]) -> list[tuple[str, str]]:
    import re
    prompts = []
    for item in items:
        kind, eq, regex = item.partition("=")
        if not eq or kind not in ("sh", "python"):
            raise ValueError(f"--prompt {item}: expected sh=REGEX or python=REGEX")
        try:
            re.compile(regex)
        except re.error as e:
            raise ValueError(f"--prompt {item}: bad regex: {e}") from None
        prompts.append((kind, regex))
    return prompts


def add_run_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("manifest", type=Path, help="deck manifest (.yml/.yaml) or an extracted labs.json")
    ap.add_argument("--source", help="source root (default: the manifest's folder)")
    ap.add_argument("--target", choices=("local", "kind"), default="local")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--chapter", type=int,
                       help="run this chapter (number as in NN-*.sh), after its set-up (see --shard)")
    where.add_argument("--from", dest="start", metavar="STEP",
                       help="resume at this step: its index or file:line")
    where.add_argument("--shard", metavar="K/N",
                       help="run the K-th of N chapter-aligned parts, with its set-up (CI matrix)")
    ap.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    ap.add_argument("--step-timeout", type=_seconds, default=120.0,
                    help="seconds a command may run before it is interrupted and failed (120); "
                         "`wait` gets as long, `longwait` five times as long")
    ap.add_argument("--keep-going", action="store_true", help="go on after a failed step")
    ap.add_argument("--keep-cluster", action="store_true", help="kind: leave the cluster running")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                    help="value of a placeholder or of a variable the slides set in prose "
                         "(e.g. --set IP-ADDRESS=127.0.0.1)")
    ap.add_argument("--skip-placeholders", action="store_true",
                    help="skip the steps whose placeholders have no --set value, instead of refusing to run")
    ap.add_argument("--prompt", dest="prompts", action="append", default=[], metavar="KIND=REGEX",
                    help="a nested shell's prompt (text left of the cursor), KIND sh or python; "
                         "tried before the defaults")


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {value:g}")
    return value


class Stop(Exception):
    """SIGTERM/SIGHUP: end the run as Ctrl-C does (report written, nothing left behind)."""


def run(args: argparse.Namespace) -> int:
    from labdeck.labs import kind
    from labdeck.labs.shard import parse_shard, plan, setup_chapters

    root: Path | None = None
    setup: set[int] = set()
    try:
        sets = _parse_sets(args.sets)
        prompts = _parse_prompts(args.prompts)
        if args.manifest.suffix == ".json":
            data, steps = read_labs(args.manifest)
            stem, manifest = data["deck"], Path(data.get("manifest") or args.manifest)
            if data.get("root"):
                root = (args.manifest.parent / data["root"]).resolve()
            declared = data.get("setup") or []
            values = None
        else:
            deck, steps = _load(args.manifest, args.source, args.exclude)
            stem, manifest, root, declared = deck.stem, args.manifest, deck.root, _declared_setup(deck)
            values = getattr(deck, "values", None)
        if args.shard:
            k, n = parse_shard(args.shard)
            steps, setup = plan(steps, k, n, declared)
        elif args.chapter is not None:
            chosen = _select(steps, args.chapter, None)
            before = setup_chapters(steps, [chosen], declared) if chosen else []
            setup = {s.index for s in steps if s.chapter in before}
            steps = [s for s in steps if s.chapter in before] + chosen
        else:
            first = steps[0].index if steps else 1
            steps = _select(steps, None, args.start)
            if steps and steps[0].index != first:
                print(f"labs: starting at step {steps[0].index}: what earlier steps prepared "
                      f"(files, variables) is missing; --chapter runs a chapter's set-up first",
                      file=sys.stderr)
        if args.junit:              # know before a long run that the report can be written
            args.junit.parent.mkdir(parents=True, exist_ok=True)
            with open(args.junit, "a"):
                pass
    except (BuildError, ValueError, OSError) as e:
        if isinstance(e, OSError) and e.filename:
            e = f"{e.filename}: error: {e.strerror or e}"
        print(e if isinstance(e, (BuildError, str)) else f"labs: {e}", file=sys.stderr)
        _error_junit(args, str(e))
        return 1
    except DeckErrors:
        _error_junit(args, "the deck has errors: see the run's log")
        return 1

    def where(rec: StepRecord) -> Path:
        return (root / rec.file) if root else Path(rec.file)

    if args.target == "kind":
        missing = kind.missing_tools()
        if missing:
            why = (f"--target kind needs {', '.join(kind.NEEDED)} on PATH; "
                   f"missing: {', '.join(missing)}")
            print(f"labs: {why}", file=sys.stderr)
            if args.junit:
                _report_junit(args.junit, [], stem, where, error=why)
            return 2
    # Refused up front: a run that would stop at step 80 for a value it needs.
    needed: dict[str, StepRecord] = {}
    for s in steps:
        for name in s.placeholders:
            if name not in sets:
                needed.setdefault(name, s)
    prose = {n: s for n, s in unset_variables(steps).items() if n not in sets}
    if (needed and not args.skip_placeholders) or prose:
        for name, s in {**needed, **prose}.items():
            kind_of = "placeholder" if name in needed else f"${name}, set only in the slides' text,"
            print(f"{display(s.file, root)}:{s.line}: error: {kind_of if name not in needed else 'placeholder ' + repr(name)} "
                  f"needs a value", file=sys.stderr)
        gives = " ".join(f"--set {n}=VALUE" for n in {**needed, **prose})
        print(f"labs: give {gives}" + (" (or --skip-placeholders)" if needed else ""), file=sys.stderr)
        return 2
    if not steps:
        print(f"labs: {stem}: no lab steps to run")
        if args.junit:
            _report_junit(args.junit, [], stem, where)
        return 0
    return _run(steps, stem, manifest, args, sets, prompts, setup, where, values)


def _error_junit(args, why: str) -> None:
    """A JUnit file saying why nothing ran (CI shows it instead of a missing report)."""
    if args.junit and not isinstance(why, OSError):
        try:
            from labdeck.labs.junit import write_junit
            write_junit([], args.junit, args.manifest.stem, error=why)
        except OSError:
            pass


def _report_junit(path: Path, results, stem, where, error: str | None = None) -> bool:
    from labdeck.labs.junit import write_junit
    try:
        write_junit(results, path, stem, file_of=lambda rec: repo_relative(where(rec)), error=error)
        return True
    except OSError as e:
        print(os_error_line(e, path, "cannot write the JUnit report"), file=sys.stderr)
        return False


def _run(steps, stem, manifest, args, sets, prompts, setup, where, values=None) -> int:
    import signal

    from rich.console import Console
    from rich.markup import escape

    from labdeck.labs import kind
    from labdeck.labs.runner import Options, Result, Runner
    from labdeck.labs.terminal import Terminal, TerminalError

    console = Console(highlight=False, soft_wrap=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"labdeck-{stem}-"))
    work = tmp / "work"
    work.mkdir()
    cluster = None
    term = None
    env: dict[str, str] = {n: v for n, v in sets.items() if n.isidentifier()}
    total = len(steps)
    width = len(str(steps[-1].index))
    colours = {"passed": "green", "failed": "bold red", "skipped": "yellow"}
    done: list[Result] = []         # what finished, for a report even after Ctrl-C

    def progress(r: Result) -> None:
        done.append(r)
        s = r.step
        text = s.text.split("\n", 1)[0]
        text = text if len(text) <= 60 else text[:57] + "..."
        tag = " [dim](set-up)[/]" if r.setup else ""
        console.print(f"[{colours[r.status]}]{r.status.upper():7}[/] [{s.index:>{width}}] "
                      f"{escape(_shown(where(s)))}:{r.line or s.line}  {s.directive} {escape(text)}  "
                      f"[dim]{r.seconds:.1f}s[/]{tag}")
        if r.status in ("failed", "skipped") and r.message:
            console.print(f"         [dim]{escape(r.message)}[/]")
        if r.status == "failed" and r.screen:
            console.print("[dim]" + escape("\n".join("         | " + l for l in
                                                     r.screen.splitlines()[-10:])) + "[/]")

    def on_failure(r: Result) -> None:
        if cluster is not None:
            try:
                r.extra = cluster.events()
            except Exception as e:      # diagnostics only: never hide the step's own failure
                r.extra = f"kubectl get events,all -A failed: {e}"

    def stop(signum, frame):
        raise Stop(signal.Signals(signum).name)

    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    started = time.monotonic()
    results: list[Result] = []
    interrupted = ""
    try:
        if args.target == "kind":
            try:
                cluster = kind.KindCluster(kind.cluster_name(stem), tmp, kind.kind_config(manifest, values),
                                           log=lambda m: console.print(f"[dim]{escape(m)}[/]"))
                cluster.create()
            except kind.KindError as e:
                print(f"labs: {e}", file=sys.stderr)
                if args.junit:
                    _report_junit(args.junit, [], stem, where, error=str(e))
                return 1
            env.update(cluster.env())
        console.print(f"labs: {stem}: {total} steps, target {args.target}, in {work}")
        try:
            term = Terminal(tmp, work, env, prompts)
            term.start()
        except (TerminalError, OSError) as e:
            print(f"labs: cannot start the lab's terminal (tmux): {e}", file=sys.stderr)
            return 1
        runner = Runner(term, Options(step_timeout=args.step_timeout, keep_going=args.keep_going,
                                      sets=sets), on_result=progress, on_failure=on_failure)
        results = runner.run(steps, setup)
    except KeyboardInterrupt:
        interrupted = "SIGINT"
    except Stop as e:
        interrupted = str(e)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        if term is not None:
            term.close()
        if cluster is not None and not args.keep_cluster:
            cluster.delete()
        if cluster is not None and args.keep_cluster:
            console.print(f"kind: cluster {cluster.name} kept; KUBECONFIG={cluster.kubeconfig}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if interrupted:
        print(f"labs: interrupted ({interrupted}) after {len(done)} of {total} steps", file=sys.stderr)
        if args.junit:
            _report_junit(args.junit, done, stem, where,
                          error=f"run interrupted ({interrupted}) after {len(done)} of {total} steps")
        return 130 if interrupted == "SIGINT" else 143
    if args.junit and not _report_junit(args.junit, results, stem, where):
        return 1
    counts = Counter(r.status for r in results)
    console.print(f"labs: {stem}: {counts['passed']} passed, {counts['failed']} failed, "
                  f"{counts['skipped']} skipped in {time.monotonic() - started:.1f}s")
    return 1 if counts["failed"] else 0
