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

#: Below this many pixels of work, one thread is faster than splitting.
MIN_PARALLEL_WORK = 256 * 256
#: Never use more threads than this (memory bandwidth saturates).
MAX_THREADS = 4

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def usable_cpus() -> int:
    """The CPUs this process may run on, at most :data:`MAX_THREADS`."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
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
    if threads <= 1:
        kernel(*args, 0, n)
        return
    bounds = [n * k // threads for k in range(threads + 1)]
    pool = _get_pool()
    futures = [pool.submit(kernel, *args, bounds[k], bounds[k + 1]) for k in range(1, threads)]
    kernel(*args, bounds[0], bounds[1])
    for future in futures:
        future.result()  # re-raises a kernel's exception here
