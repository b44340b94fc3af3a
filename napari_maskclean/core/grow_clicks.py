"""Click-to-segment as a sequence of clicks: what the Region growing dock records and replays.

A dock session is an ordered list of clicks, each with the label of its object:
the first click of a label starts that object (a plain click), the next ones
add seeds to it (Shift+click). :class:`ClickSession` applies them one at a
time (the live preview: one click costs one object's window) and
:func:`segment_clicks` applies a whole list at once (a recorded recipe step);
both run the same code in the same order, so a replay gives the GUI's labels
bit for bit. Existing labels (the target layer's) are never overwritten by a
new object; ``action='refine'`` re-grows the labels under the clicks from
their current extent and ``action='erase'`` removes them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .grow import ClickSegmenter, GrowResult, _Object

__all__ = ["ClickAction", "ClickSession", "segment_clicks"]

ClickAction = Literal["grow", "refine", "erase"]
ACTIONS: tuple[str, ...] = ("grow", "refine", "erase")


class ClickSession:
    """Objects grown click by click on one image, never over the existing labels.

    Parameters
    ----------
    image : array_like
        2D or 3D grey image.
    labels : array_like of int, optional
        Existing labels (e.g. the target layer): new objects never take their
        pixels; they can be refined or erased.
    **options
        The options of :class:`~napari_maskclean.core.grow.ClickSegmenter`
        (``rule``, ``spacing``, ``sigma``, ``polarity``, ``level``, ``k``,
        ``max_size``, ``fill_holes``, ``smooth``).

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[:40, :60]
    >>> blob = lambda x: (yy - 20) ** 2 + (xx - x) ** 2 < 64
    >>> image = 10.0 * (blob(15) | blob(45))
    >>> session = ClickSession(image)
    >>> _ = session.click((20, 15), 1)
    >>> _ = session.click((20, 45), 2)
    >>> sorted(np.unique(session.labels).tolist())
    [0, 1, 2]
    """

    def __init__(self, image: ArrayLike, *, labels: ArrayLike | None = None,
                 **options: Any) -> None:
        self.segmenter = ClickSegmenter(image, labels=labels, **options)
        #: The labels that existed before the first click (None: there were none).
        self.existing: NDArray[np.int32] | None = (
            None if labels is None or not self.segmenter.labels.any()
            else self.segmenter.labels.copy())
        self.clicks: list[tuple[tuple[int, ...], int]] = []
        self.results: list[GrowResult] = []

    @classmethod
    def from_params(cls, image: ArrayLike, *, labels: ArrayLike | None = None,
                    sigma: float | Literal["auto"] | None = "auto", **options: Any,
                    ) -> ClickSession:
        """A session from the op's parameters (``sigma`` None = 'auto'; no ``action``)."""
        options.pop("action", None)
        return cls(image, labels=labels, sigma="auto" if sigma is None else sigma, **options)

    @property
    def labels(self) -> NDArray[np.int32]:
        """The existing labels with the session's objects (the live array: do not modify)."""
        return self.segmenter.labels

    @property
    def shape(self) -> tuple[int, ...]:
        """The image's shape."""
        return self.segmenter.shape

    def objects(self, box: tuple[slice, ...] = ()) -> NDArray[np.int32]:
        """The session's objects only (existing labels' pixels are 0), in ``box``: the preview.

        A new array, or a read-only view of :attr:`labels` when there are no existing labels.
        """
        lab = self.labels[box]
        if self.existing is None:
            view = lab.view()
            view.flags.writeable = False
            return view
        return np.where(self.existing[box] != 0, 0, lab).astype(np.int32, copy=False)

    def next_label(self) -> int:
        """The next free label: one more than the largest existing or clicked one."""
        return self.segmenter.next_id()

    def copy(self) -> ClickSession:
        """An independent copy (the image and the existing labels are shared, never modified)."""
        new = copy.copy(self)
        seg = copy.copy(self.segmenter)
        seg.labels = self.segmenter.labels.copy()
        seg.objects = {k: _Object(seeds=list(o.seeds), bright=o.bright)
                       for k, o in self.segmenter.objects.items()}
        new.segmenter = seg
        new.clicks = list(self.clicks)
        new.results = list(self.results)
        return new

    def click(self, seed: Sequence[float], label: int) -> GrowResult:
        """Apply one click: start object ``label`` (its first click) or add a seed to it.

        A region that leaks past ``max_size`` is not written (``result.leaked``).
        """
        label = _check_label(label)
        seg = self.segmenter
        s = seg._check_seed(seed)
        if any(lab == label for _, lab in self.clicks):
            res = seg.add_seed(label, s)
        else:
            res = seg.add_object(s, object_id=label)
        self._protect(res.bbox)
        self.clicks.append((s, label))
        self.results.append(res)
        return res

    def refine(self, seed: Sequence[float], label: int | None = None) -> GrowResult:
        """Re-grow the label under ``seed`` (or ``label``) from its current extent."""
        seg = self.segmenter
        s = seg._check_seed(seed)
        label = int(seg.labels[s]) if label is None else _check_label(label)
        if label == 0:
            raise ValueError(f"the click at {s} is not inside a label; click inside the "
                             "object to refine")
        res = seg.refine(label, s)
        self._protect(res.bbox, keep=label)
        self.results.append(res)
        return res

    def erase(self, seed: Sequence[float], label: int | None = None) -> int:
        """Remove the label under ``seed`` (or ``label``); returns the label removed."""
        seg = self.segmenter
        s = seg._check_seed(seed)
        label = int(seg.labels[s]) if label is None else _check_label(label)
        if label == 0:
            raise ValueError(f"the click at {s} is not inside a label; click inside the "
                             "object to erase")
        seg.labels[seg.labels == label] = 0
        seg.objects.pop(label, None)
        if self.existing is not None:  # a new array: copies of the session share the old
            self.existing = np.where(self.existing == label, 0, self.existing)
        return label

    def _protect(self, bbox: tuple[slice, ...], keep: int | None = None) -> None:
        """Put back the existing labels' pixels in ``bbox`` (except those of ``keep``).

        A click only ever changes pixels inside its result's window, so this undoes
        whatever the new object took from the existing labels.
        """
        if self.existing is None:
            return
        ex = self.existing[bbox]
        lab = self.segmenter.labels[bbox]
        back = ex != 0
        if keep is not None:
            back &= ex != keep
            # The refined object's old extent is now what the rule says it is (in a new
            # array: copies of the session share the old one).
            self.existing = self.existing.copy()
            mine = self.existing[bbox]
            mine[ex == keep] = 0
            mine[lab == keep] = keep
        lab[back] = ex[back]


def _check_label(label: Any) -> int:
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)) \
            or label < 1:
        raise ValueError(f"a label must be a positive integer, got {label!r}")
    return int(label)


def segment_clicks(
    image: ArrayLike,
    seeds: Sequence[Sequence[float]],
    *,
    seed_labels: Sequence[int] | None = None,
    labels: ArrayLike | None = None,
    action: ClickAction = "grow",
    sigma: float | Literal["auto"] | None = "auto",
    max_size: int | None = None,
    **options: Any,
) -> NDArray[np.int32]:
    """Apply a sequence of clicks; return the labels afterwards.

    Parameters
    ----------
    image : array_like
        2D or 3D grey image.
    seeds : sequence of sequence of float
        The clicks, in the order they were made (one index per axis).
    seed_labels : sequence of int, optional
        The label of each click (``action='grow'``: its object; a label's first
        click starts it, the next ones add seeds). Default: one new object per
        click, numbered after the largest of ``labels``. For refine/erase the
        default is the label under each click.
    labels : array_like of int, optional
        Existing labels (not modified): never overwritten by a new object.
    action : {'grow', 'refine', 'erase'}
        Grow new objects, re-grow the labels under the clicks from their
        current extent, or erase them.
    sigma : float, 'auto' or None
        Smoothing before growing; None means 'auto'.
    max_size : int, optional
        Largest object in pixels (a larger region is a leak: not written).
    **options
        The other options of :class:`~napari_maskclean.core.grow.ClickSegmenter`.

    Returns
    -------
    ndarray of int32
        ``labels`` with the clicks applied.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((30, 30)); image[5:15, 5:15] = 10; image[18:26, 18:26] = 10
    >>> out = segment_clicks(image, [(9, 9), (21, 21)])  # squares: corners rounded
    >>> int((out == 1).sum()), int((out == 2).sum())
    (96, 60)
    >>> int(segment_clicks(image, [(9, 9)], labels=out, action="erase").max())
    2
    """
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(map(repr, ACTIONS))}, "
                         f"got {action!r}")
    pts = [tuple(p) for p in seeds]
    if seed_labels is not None and len(seed_labels) != len(pts):
        raise ValueError(f"seed_labels must give one label per seed: got {len(seed_labels)} "
                         f"labels for {len(pts)} seeds")
    session = ClickSession.from_params(image, labels=labels, sigma=sigma, max_size=max_size,
                                       **options)
    for i, p in enumerate(pts):
        lab = None if seed_labels is None else seed_labels[i]
        if action == "grow":
            session.click(p, session.next_label() if lab is None else lab)
        elif action == "refine":
            session.refine(p, lab)
        else:
            session.erase(p, lab)
    return session.labels.copy()
