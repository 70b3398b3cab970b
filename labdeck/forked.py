"""Work shared with forked processes: they inherit what the build holds in memory
(no start-up, nothing sent but the work's index), and only results travel back.

Used by the render queue (markdown.RenderQueue) and for writing the deck pages
(build.py). Forking is only safe in a process that runs no other thread (a lock
held mid-way by one would be copied held): watch mode's observer and server
threads make both run in-process there.
"""
from __future__ import annotations

import os
import threading
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def may_fork() -> bool:
    return threading.active_count() == 1 and hasattr(os, "fork")


def die_with_parent(parent: int) -> None:
    """Pool initializer: a worker ends when its build does (even killed with SIGKILL)."""
    import ctypes
    import signal
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:              # the parent died before the call above
        os._exit(1)


def pool(workers: int):
    import multiprocessing
    return multiprocessing.get_context("fork").Pool(workers, die_with_parent, (os.getpid(),))


_job: Callable | None = None        # what the forked helper runs: set just before it is forked


def _run(indices: list[int]) -> list:
    assert _job is not None
    return [_job(i) for i in indices]


def map_halves(func: Callable[[T], R], items: Sequence[T], weights: Sequence[float]) -> list[R]:
    """[func(item) for item in items], the items split by weight between this process
    and one forked helper. `func` must return picklable values and raise nothing."""
    if len(items) < 2 or (os.cpu_count() or 1) < 2 or not may_fork():
        return [func(item) for item in items]
    global _job
    mine: list[int] = []
    theirs: list[int] = []
    load = [0.0, 0.0]
    for i in sorted(range(len(items)), key=lambda i: -weights[i]):     # heaviest first, to the lighter side
        side = 0 if load[0] <= load[1] else 1
        (mine if side == 0 else theirs).append(i)
        load[side] += weights[i]
    _job = lambda i: func(items[i])         # noqa: E731 - the child inherits it
    results: list = [None] * len(items)
    helper = pool(1)
    try:
        pending = helper.apply_async(_run, (theirs,))
        for i in mine:
            results[i] = func(items[i])
        try:
            done = pending.get()
        except Exception:           # the helper died or sent something unpicklable: its share, here
            done = [func(items[i]) for i in theirs]
        for i, result in zip(theirs, done):
            results[i] = result
    finally:
        helper.close()
        helper.join()
        _job = None
    return results
