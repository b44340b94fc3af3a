"""The work behind the Region growing dock: off-thread jobs, warm-up, leak messages, steps.

napari-free (the dock passes plain values), so the recipe steps it builds can be
tested without a viewer. Two kinds of jobs:

* the growing rules (``edge``, ``contrast``, ``adaptive``): a
  :class:`~napari_maskclean.core.grow_clicks.ClickSession` over the clicks in
  order; a new click copies the last session and grows one object more;
* the tolerance flood (``core.region``): a ``RegionGrower``, one seed more per click.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..core.grow import GrowResult
from ..core.grow_clicks import ClickSession
from ..core.region import RegionGrower, region_grow
from ..recipe import Scope, Step

#: The rules of the dock, in menu order: the measured default first, the flood last.
FLOOD = "tolerance (flood)"
RULES = ("edge", "contrast", "adaptive", FLOOD)

#: What helps when a region leaks, per rule.
_ADVICE = {
    "edge": "set 'objects are' to bright or dark, or try the contrast rule",
    "contrast": "raise 'level'",
    "adaptive": "lower 'k'",
}


def leak_message(result: GrowResult, rule: str) -> str:
    """The dock's one line for a region that leaked (empty when it did not)."""
    if not result.leaked:
        return ""
    n = int(result.size)
    return (f"stopped: the region leaked past {n:,} px (max size) and was not kept; click "
            f"closer to the object's centre or {_ADVICE.get(rule, 'lower the max size')}")


# ------------------------------------------------------------------------ growing rules
class Clicked(NamedTuple):
    """A growing-rule job's result.

    ``objects`` is the preview: the whole array (``changed`` None), or only the
    box ``changed`` that the clicks since the session of ``base`` clicks touched.
    """

    objects: np.ndarray
    session: ClickSession
    leak: str
    changed: tuple[slice, ...] | None = None
    base: int = 0


def click_grow(image, barrier, *, seeds, seed_labels, **params) -> Clicked:
    """Grow every click in order (a new session)."""
    session = ClickSession.from_params(image, labels=barrier, **params)
    leak = _clicks(session, seeds, seed_labels, params["rule"])
    return Clicked(session.objects(), session, leak)


def click_more(session: ClickSession, *, seeds, seed_labels, **params) -> Clicked:
    """Grow only the clicks made since ``session`` (the other inputs match)."""
    done = len(session.clicks)
    session = session.copy()
    leak = _clicks(session, seeds[done:], seed_labels[done:], params["rule"])
    # A click changes pixels only inside its result's window: the preview is
    # updated there only (napari then uploads just that part of the texture).
    boxes = [r.bbox for r in session.results[len(session.results) - len(seeds) + done:]]
    if not boxes:  # nothing new (e.g. the result of a repeated request)
        empty = (slice(0, 0),) * session.labels.ndim
        return Clicked(session.objects(empty), session, leak, empty, done)
    box = tuple(slice(min(b[a].start for b in boxes), max(b[a].stop for b in boxes))
                for a in range(session.labels.ndim))
    return Clicked(session.objects(box), session, leak, box, done)


def _clicks(session: ClickSession, seeds, labels, rule: str) -> str:
    leak = ""
    for seed, label in zip(seeds, labels):
        leak = leak_message(session.click(seed, int(label)), rule)
    return leak


click_grow.__name__ = click_more.__name__ = "click_segment"  # the recipe step's op


# ------------------------------------------------------------------------ tolerance flood
class Grown(NamedTuple):
    """A flood job's result: the new regions, and the grower that made them."""

    labels: np.ndarray
    grower: RegionGrower


def _grow(image, barrier, *, seeds, seed_labels, **params) -> Grown:
    """Run :func:`region_grow` with the target's labels as the barrier."""
    overwrite = params.pop("overwrite", False)
    grower = RegionGrower(image, labels=barrier, overwrite=overwrite, **params)
    grower = grower.add_seeds(seeds)
    return Grown(grower.labels(seed_labels), grower)


def _grow_more(grower: RegionGrower, *, seeds, seed_labels, **_params) -> Grown:
    """Grow only the seeds added since ``grower`` was made (the other parameters match)."""
    grower = grower.add_seeds(seeds[len(grower.seeds):])
    return Grown(grower.labels(seed_labels), grower)


_grow.__name__ = _grow_more.__name__ = "region_grow"  # the recipe step's name


def warm_up() -> None:
    """Run every rule once on a tiny image: imports and numba kernels are ready for click 1.

    The default rule first: compiling the flood's numba kernels (an empty cache
    after an install) takes a second or more and holds the interpreter meanwhile.
    """
    yy, xx = np.mgrid[:48, :48]
    blob = (40.0 * (((yy - 24) ** 2 + (xx - 24) ** 2) < 64)).astype(np.float32)
    for rule in RULES[:-1]:
        ClickSession(blob, rule=rule).click((24, 24), 1)
    for rule in RULES[:-1]:
        ClickSession(blob[None].repeat(3, 0), rule=rule).click((1, 24, 24), 1)
    for dtype in (np.uint8, np.float32):
        region_grow(np.zeros((3, 3), dtype=dtype), [[1, 1]], tolerance=0.1, relative=True)


# ----------------------------------------------------------------------------- steps
def build_step(
    *,
    op: str,
    params: dict[str, Any],
    image_name: str,
    target_name: str,
    new_target: bool,
    scale: Sequence[float],
    translate: Sequence[float],
    region: tuple,
    seeds: np.ndarray | None = None,
    seed_labels: Sequence[int] | None = None,
    paint: bool = False,
    preserve_labels: bool = False,
    channel: str | None = None,
) -> Step:
    """The recipe step of one commit (validated).

    ``seeds`` are full data coordinates of the image (every non-channel axis),
    ``region`` the leading indices of the slice worked on (``()``: all of it).
    """
    scale = [float(s) for s in scale]
    translate = [float(t) for t in translate]
    world = None
    if seeds is not None:
        pts = np.asarray(seeds, dtype=float).reshape(-1, len(scale))
        world = (pts * scale + translate).tolist()
    slice_world = ([i * s + t for i, s, t in zip(region, scale, translate)]
                   if region else None)
    inputs = {"image": image_name, "barrier": target_name}
    step = Step(op=op, params=dict(params), inputs=inputs, target=target_name,
                new_target=new_target, paint=paint, preserve_labels=preserve_labels,
                scope=Scope.SLICE if region else Scope.VOLUME, slice_world=slice_world,
                scale=scale, translate=translate, channel=channel, seeds_world=world,
                seed_labels=None if seed_labels is None else [int(v) for v in seed_labels])
    return step.checked()
