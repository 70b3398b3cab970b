"""`labs run --shard K/N`: a deck's labs split over N machines, by whole chapters.

Chapters with steps are cut into N contiguous groups of about equal step
counts (the same cut for the same deck, every time). A shard runs its group
after the group's set-up: the chapters the manifest lists under `labs-setup:`
(chapter paths, e.g. the one that deploys the app the others use), and the
earlier chapters that set a variable the group uses (found from the
commands: `WEB_IP=$(...)` in one chapter, `$WEB_IP` in a later one), with
their own set-up in turn. Set-up steps run first and are reported in the
JUnit file only when they fail, so that merged shard reports count each
step once.
"""
from __future__ import annotations

import re

from labdeck.labs.extract import StepRecord, unset_variables


def parse_shard(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ValueError(f"--shard {text}: expected K/N with 1 <= K <= N (e.g. --shard 2/4)")
    return int(m.group(1)), int(m.group(2))


def chapters_of(steps: list[StepRecord]) -> list[list[StepRecord]]:
    groups: dict[int, list[StepRecord]] = {}
    for s in steps:
        groups.setdefault(s.chapter, []).append(s)
    return [groups[c] for c in sorted(groups)]


def cut(chapters: list[list[StepRecord]], n: int) -> list[list[list[StepRecord]]]:
    """N contiguous groups of chapters, about equal in steps (some empty when N > chapters)."""
    total = sum(len(c) for c in chapters)
    groups: list[list[list[StepRecord]]] = [[] for _ in range(n)]
    g, done = 0, 0
    for i, chapter in enumerate(chapters):
        left_chapters = len(chapters) - i
        # move on when this group has its share, or when every later group needs a chapter
        if groups[g] and g < n - 1 and (done >= total * (g + 1) / n or left_chapters <= n - 1 - g):
            g += 1
        groups[g].append(chapter)
        done += len(chapter)
    return groups


def setup_chapters(steps: list[StepRecord], group: list[list[StepRecord]],
                   declared: list[str]) -> list[int]:
    """Chapter numbers to run before `group`: declared ones and variable providers."""
    if not group:
        return []
    first = group[0][0].chapter
    by_number = {c[0].chapter: c for c in chapters_of(steps)}
    earlier = {n: c for n, c in by_number.items() if n < first}
    chosen = {n for n, c in earlier.items() if c[0].chapter_source in declared}
    wanted = [s for c in group for s in c]
    while True:
        run = [s for n in sorted(chosen) for s in earlier[n]] + wanted
        missing = unset_variables(run)
        providers = set()
        for name in missing:
            assign = re.compile(rf"(?:^|[\s;&|(])(?:export\s+)?{re.escape(name)}=|\b(?:read|for)\s+.*\b{re.escape(name)}\b")
            for n, c in earlier.items():
                if n not in chosen and any(assign.search(s.text) for s in c if s.directive in ("bash", "hide")):
                    providers.add(n)
        if not providers:
            return sorted(chosen)
        chosen |= providers


def plan(steps: list[StepRecord], k: int, n: int, declared: list[str]) -> tuple[list[StepRecord], set[int]]:
    """The steps shard K of N runs, and the indexes of those run as set-up."""
    groups = cut(chapters_of(steps), n)
    group = groups[k - 1]
    setup = setup_chapters(steps, group, declared)
    setup_steps = [s for s in steps if s.chapter in setup]
    own = [s for c in group for s in c]
    return setup_steps + own, {s.index for s in setup_steps}
