"""Run a compiled kernel over chunks of a range on several threads.

The numba kernels release the GIL (``nogil=True``), so plain Python threads run
them in parallel. We use threads rather than numba's ``parallel=True``: its
default threading layer aborts when two Python threads launch parallel
kernels at once, which the widgets' worker threads may do.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

#: Below this many pixels of work, one thread is faster than splitting.
MIN_PARALLEL_WORK = 256 * 256
#: Never use more threads than this (memory bandwidth saturates).
MAX_THREADS = 4

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_limit: int | None = None


def set_max_threads(n: int | None) -> None:
    """Use at most ``n`` threads per kernel in this process (None: as many as CPUs).

    A dask worker process that runs one task per core sets 1: the processes are
    the parallelism, and more threads would only compete for the same cores.
    """
    global _limit
    _limit = None if n is None else max(1, int(n))


def usable_cpus() -> int:
    """The CPUs this process may run on, at most :data:`MAX_THREADS` (and the set limit)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    if _limit is not None:
        n = min(n, _limit)
    return max(1, min(MAX_THREADS, n))


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="maskclean")
        return _pool


def run_chunked(kernel: Callable[..., None], n: int, *args, work: int) -> None:
    """Call ``kernel(*args, start, stop)`` over chunks covering ``range(n)``.

    Parameters
    ----------
    kernel : callable
        Processes the items ``start <= i < stop``; chunks must be independent
        (write disjoint parts of the output).
    n : int
        Number of items.
    *args
        The kernel's other arguments, before ``start, stop``.
    work : int
        Total work (pixels); below :data:`MIN_PARALLEL_WORK` everything runs
        in the calling thread.
    """
    threads = min(usable_cpus(), n) if work >= MIN_PARALLEL_WORK else 1
    bounds = [n * k // threads for k in range(threads + 1)]
    run_in_threads(lambda k: kernel(*args, bounds[k], bounds[k + 1]), threads)


def run_in_threads(task: Callable[[int], T], n: int) -> list[T]:
    """Run ``task(0)`` in the calling thread and ``task(1..n-1)`` on the shared pool.

    Tasks must not wait for each other (the pool is shared and bounded).

    Parameters
    ----------
    task : callable
        Called with the task number.
    n : int
        Number of tasks (>= 1).

    Returns
    -------
    list
        The tasks' results, in task order; a task's exception is re-raised here.
    """
    futures = [_get_pool().submit(task, k) for k in range(1, n)]
    first = task(0)
    return [first, *(future.result() for future in futures)]
