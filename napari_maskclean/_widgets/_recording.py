"""The recipe of each viewer: a :class:`~napari_maskclean.recipe.RecipeRecorder` per viewer.

Commits made in a viewer are recorded in that viewer's recipe only (two viewers
never share a log). The recorders are keyed weakly by the viewer: closing and
dropping a viewer drops its recipe.
"""

from __future__ import annotations

import weakref

from ..recipe import RecipeRecorder

__all__ = ["forget", "recorder_for"]

#: id(viewer) -> (weak reference to the viewer, its recorder)
_RECORDERS: dict[int, tuple[weakref.ref, RecipeRecorder]] = {}


def _unwrap(viewer):
    """The viewer itself: napari hands plugin widgets a ``PublicOnlyProxy`` of it."""
    while hasattr(viewer, "__wrapped__"):
        viewer = viewer.__wrapped__
    return viewer


def recorder_for(viewer) -> RecipeRecorder:
    """The recipe recorder of ``viewer`` (created on first use; proxies count as it)."""
    viewer = _unwrap(viewer)
    key = id(viewer)
    hit = _RECORDERS.get(key)
    if hit is not None and hit[0]() is viewer:
        return hit[1]
    recorder = RecipeRecorder()

    def _drop(_ref, key=key) -> None:
        entry = _RECORDERS.get(key)
        if entry is not None and entry[0] is _ref:
            del _RECORDERS[key]

    _RECORDERS[key] = (weakref.ref(viewer, _drop), recorder)
    return recorder


def forget(viewer) -> None:
    """Drop the recipe of ``viewer`` (tests; a fresh start)."""
    _RECORDERS.pop(id(_unwrap(viewer)), None)
