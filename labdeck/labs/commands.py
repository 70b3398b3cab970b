"""`python build.py labs ...`: extract lab scripts, or run the labs unattended.

    labs [MANIFEST ...] [--out DIR]            write dist/labs/<deck>/
    labs run MANIFEST|labs.json [--target local|kind] [--chapter N | --from STEP]
             [--junit FILE] [--step-timeout S] [--keep-going] [--keep-cluster]
             [--set NAME=VALUE ...]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from labdeck.diagnostics import BuildError
from labdeck.labs.extract import StepRecord, collect_steps
from labdeck.labs.script import by_chapter, read_labs, write_labs


def main(argv: list[str]) -> int:
    if argv and argv[0] == "run":
        return run_main(argv[1:])
    return extract_main(argv)


def _load(manifest: Path, source: str | None, exclude: list[str] | None):
    """(deck, steps) of a manifest; BuildError and located errors go up as BuildError."""
    from labdeck.build import load_deck
    # Labs read the deck model only: no HTML to render.
    deck, diags = load_deck(manifest, Path(source) if source else None, exclude or None, render_html=False)
    diags.print(roots=[deck.root])
    if diags.errors:
        raise SystemExit(1)
    return deck, collect_steps(deck)


def extract_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="build.py labs",
                                 description="Extract the lab steps of decks into bash scripts "
                                             "and labs.json (dist/labs/<deck>/).")
    ap.add_argument("manifests", nargs="*", type=Path, help="deck manifests (default: slides/*.yml and slides/*.yaml)")
    ap.add_argument("--out", type=Path, default=Path("dist/labs"), help="output folder")
    ap.add_argument("--source", help="source root (default: the manifest's folder)")
    ap.add_argument("--exclude", nargs="*", action="extend", default=[],
                    help="slide classes to leave out, besides the manifest's own")
    args = ap.parse_args(argv)
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
        except SystemExit:
            status = 1
            continue
        out = args.out / deck.stem
        try:
            write_labs(steps, out, deck=deck.stem, title=deck.title, manifest=str(manifest))
        except OSError as e:
            print(f"{e.filename or out}: error: cannot write lab scripts: {e.strerror or e}",
                  file=sys.stderr)
            status = 1
            continue
        counts = Counter(s.directive for s in steps)
        detail = ", ".join(f"{k} {v}" for k, v in counts.most_common())
        print(f"labs: {deck.stem}: {len(steps)} steps ({detail or 'none'}) in "
              f"{len(by_chapter(steps))} chapter scripts -> {out}/")
    return status


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


def run_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="build.py labs run",
                                 description="Run a deck's lab steps unattended in a real terminal.")
    ap.add_argument("manifest", type=Path, help="deck manifest (.yml) or an extracted labs.json")
    ap.add_argument("--source", help="source root (default: the manifest's folder)")
    ap.add_argument("--exclude", nargs="*", action="extend", default=[])
    ap.add_argument("--target", choices=("local", "kind"), default="local")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--chapter", type=int, help="run only this chapter (number as in NN-*.sh)")
    where.add_argument("--from", dest="start", metavar="STEP",
                       help="resume at this step: its index or file:line")
    ap.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    ap.add_argument("--step-timeout", type=float, default=120.0,
                    help="seconds a command may run before it is interrupted and failed (120)")
    ap.add_argument("--keep-going", action="store_true", help="go on after a failed step")
    ap.add_argument("--keep-cluster", action="store_true", help="kind: leave the cluster running")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                    help="value of a placeholder (e.g. --set IP-ADDRESS=127.0.0.1)")
    args = ap.parse_args(argv)
    if not args.step_timeout > 0:
        ap.error(f"argument --step-timeout: must be more than 0 seconds, not {args.step_timeout:g}")

    from labdeck.labs import kind

    if args.target == "kind":
        missing = kind.missing_tools()
        if missing:
            print(f"labs: --target kind needs {', '.join(kind.NEEDED)} on PATH; "
                  f"missing: {', '.join(missing)}", file=sys.stderr)
            return 2
    try:
        sets = _parse_sets(args.sets)
        if args.manifest.suffix == ".json":
            data, steps = read_labs(args.manifest)
            stem, manifest = data["deck"], Path(data.get("manifest") or args.manifest)
        else:
            deck, steps = _load(args.manifest, args.source, args.exclude)
            stem, manifest = deck.stem, args.manifest
        steps = _select(steps, args.chapter, args.start)
        if args.junit:              # know before a long run that the report can be written
            args.junit.parent.mkdir(parents=True, exist_ok=True)
            with open(args.junit, "a"):
                pass
    except (BuildError, ValueError, OSError) as e:
        if isinstance(e, OSError) and e.filename:
            e = f"{e.filename}: error: {e.strerror or e}"
        print(e if isinstance(e, (BuildError, str)) else f"labs: {e}", file=sys.stderr)
        return 1
    except SystemExit as e:
        return int(e.code or 1)
    if not steps:
        print(f"labs: {stem}: no lab steps to run")
        return 0
    return _run(steps, stem, manifest, args, sets)


def _run(steps, stem, manifest, args, sets) -> int:
    from rich.console import Console
    from rich.markup import escape

    from labdeck.labs import kind
    from labdeck.labs.junit import write_junit
    from labdeck.labs.runner import Options, Result, Runner, Shell, ShellDied

    console = Console(highlight=False, soft_wrap=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"labdeck-{stem}-"))
    work = tmp / "work"
    work.mkdir()
    cluster = None
    env: dict[str, str] = {}
    total = len(steps)
    width = len(str(steps[-1].index))
    colours = {"passed": "green", "failed": "bold red", "skipped": "yellow"}

    done: list[Result] = []         # what finished, for a report even after Ctrl-C

    def progress(r: Result) -> None:
        done.append(r)
        s = r.step
        text = s.text.split("\n", 1)[0]
        text = text if len(text) <= 60 else text[:57] + "..."
        console.print(f"[{colours[r.status]}]{r.status.upper():7}[/] [{s.index:>{width}}] "
                      f"{escape(s.where)}  {s.directive} {escape(text)}  "
                      f"[dim]{r.seconds:.1f}s[/]")
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

    started = time.monotonic()
    results: list[Result] = []
    shell = None
    try:
        if args.target == "kind":
            cluster = kind.KindCluster(kind.cluster_name(stem), tmp, kind.kind_config(manifest),
                                       log=lambda m: console.print(f"[dim]{escape(m)}[/]"))
            try:
                cluster.create()
            except kind.KindError as e:
                print(f"labs: {e}", file=sys.stderr)
                return 1
            env.update(cluster.env())
        console.print(f"labs: {stem}: {total} steps, target {args.target}, in {work}")
        try:
            shell = Shell(work, env)
        except ShellDied as e:
            print(f"labs: {e}", file=sys.stderr)
            return 1
        runner = Runner(shell, Options(step_timeout=args.step_timeout, keep_going=args.keep_going,
                                       sets=sets), on_result=progress, on_failure=on_failure)
        results = runner.run(steps)
        shell = runner.sh
    except KeyboardInterrupt:
        print("labs: interrupted", file=sys.stderr)
        if args.junit and done:
            try:
                write_junit(done, args.junit, stem)      # the steps that ran before Ctrl-C
            except OSError:
                pass
        return 130
    finally:
        if shell is not None:
            shell.close()
        if cluster is not None and not args.keep_cluster:
            cluster.delete()
        if cluster is not None and args.keep_cluster:
            console.print(f"kind: cluster {cluster.name} kept; KUBECONFIG={cluster.kubeconfig}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.junit:
        try:
            write_junit(results, args.junit, stem)
        except OSError as e:
            print(f"{args.junit}: error: cannot write the JUnit report: {e.strerror or e}",
                  file=sys.stderr)
            return 1
    counts = Counter(r.status for r in results)
    console.print(f"labs: {stem}: {counts['passed']} passed, {counts['failed']} failed, "
                  f"{counts['skipped']} skipped in {time.monotonic() - started:.1f}s")
    return 1 if counts["failed"] else 0
