"""Input validation shared by :mod:`.holes` and :mod:`.islands`."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

ProgressCallback = Callable[[int, int], None]


def _check_spacing(spacing: Sequence[float] | float | None, ndim: int) -> tuple[float, ...]:
    if spacing is None:
        return (1.0,) * ndim
    if isinstance(spacing, numbers.Real) and not isinstance(spacing, bool):
        values = [float(spacing)] * ndim
    else:
        try:
            values = [float(s) for s in spacing]  # type: ignore[union-attr]
        except TypeError as exc:
            raise TypeError(
                f"spacing must be a number or a sequence of {ndim} numbers (one per "
                f"spatial axis), got {spacing!r}"
            ) from exc
        if len(values) != ndim:
            raise ValueError(
                f"spacing must have one value per spatial axis ({ndim}), got "
                f"{len(values)}: {list(spacing)!r}"  # type: ignore[arg-type]
            )
    if not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(
            f"spacing values must be finite and > 0 (pixel size along each axis), got {values!r}"
        )
    return tuple(values)


def _check_channel_axis(shape: tuple[int, ...], channel_axis: int | None) -> int | None:
    if channel_axis is None:
        return None
    if isinstance(channel_axis, bool) or not isinstance(channel_axis, numbers.Integral):
        raise TypeError(f"channel_axis must be an integer or None, got {channel_axis!r}")
    ndim = len(shape)
    if not -ndim <= channel_axis < ndim:
        raise ValueError(
            f"channel_axis={channel_axis} is out of range for an array of shape {shape}; "
            "pass the axis that holds the colour channels (usually -1), or None for a label image"
        )
    axis = int(channel_axis) % ndim
    if shape[axis] not in (3, 4):
        raise ValueError(
            f"channel_axis={channel_axis} has length {shape[axis]} in shape {shape}, but an "
            "RGB/RGBA mask needs 3 or 4 channels there; pass the right axis, or "
            "channel_axis=None for a label image"
        )
    if ndim - 1 not in (1, 2, 3):
        raise ValueError(
            f"an RGB mask of shape {shape} has {ndim - 1} spatial axes; 1 to 3 are supported"
        )
    return axis


def _check_connectivity(connectivity: int, ndim: int) -> int:
    if (
        isinstance(connectivity, bool)
        or not isinstance(connectivity, numbers.Integral)
        or not 1 <= connectivity <= ndim
    ):
        raise ValueError(
            f"connectivity must be an integer from 1 (face neighbours) to {ndim} "
            f"(all neighbours) for {ndim}-D data, got {connectivity!r}"
        )
    return int(connectivity)


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _validate_fill_options(
    max_distance: float | None,
    max_hole_size: int | None,
    dilate_invalid: float,
) -> None:
    if max_distance is not None:
        if not isinstance(max_distance, numbers.Real) or isinstance(max_distance, bool):
            raise TypeError(f"max_distance must be a number or None, got {max_distance!r}")
        if not max_distance >= 0:
            raise ValueError(
                f"max_distance must be >= 0 (in units of spacing), got {max_distance!r}; "
                "pass None to fill every invalid pixel"
            )
    if max_hole_size is not None:
        if not isinstance(max_hole_size, numbers.Integral) or isinstance(max_hole_size, bool):
            raise TypeError(
                f"max_hole_size must be an integer number of pixels or None, got {max_hole_size!r}"
            )
        if max_hole_size <= 0:
            raise ValueError(
                f"max_hole_size must be a positive number of pixels, got {max_hole_size}; "
                "pass None to fill invalid regions of any size"
            )
    if not isinstance(dilate_invalid, numbers.Real) or isinstance(dilate_invalid, bool):
        raise TypeError(f"dilate_invalid must be a number >= 0, got {dilate_invalid!r}")
    if not (math.isfinite(dilate_invalid) and dilate_invalid >= 0):
        raise ValueError(
            f"dilate_invalid must be a finite distance >= 0, got {dilate_invalid!r}; "
            "pass 0 to keep the valid pixels as they are"
        )
