"""Per-slice processing: the 2D planes of a stack, one helper for every core function.

With ``per_slice=True`` an operation runs on every 2D plane of the last two
axes on its own (a time series, a stack of sections); threshold, morphology
and fill all loop the same way, through :func:`plane_indices` and
:func:`each_plane`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

__all__ = ["each_plane", "plane_indices"]


def plane_indices(shape: tuple[int, ...], per_slice: bool) -> list[tuple[int, ...]]:
    """Indices of the 2D planes to process: ``[()]`` means the whole array at once.

    Examples
    --------
    >>> plane_indices((2, 3, 4, 5), True)[:2]
    [(0, 0), (0, 1)]
    >>> plane_indices((4, 5), True), plane_indices((2, 4, 5), False)
    ([()], [()])
    """
    if not per_slice or len(shape) <= 2:
        return [()]
    return list(np.ndindex(*shape[:-2]))


def each_plane(shape: tuple[int, ...], *,
               progress: Callable[[int, int], None] | None = None
               ) -> Iterator[tuple[int, ...]]:
    """Yield the index of every 2D plane of ``shape``; report ``progress(done, total)``.

    The progress call follows the work on a plane (after the caller's loop body).
    """
    planes = plane_indices(shape, True)
    for done, idx in enumerate(planes, start=1):
        yield idx
        if progress is not None:
            progress(done, len(planes))
