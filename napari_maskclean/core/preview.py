"""What a viewer shows of a result: the pixels an operation changes, and to what.

:func:`change_preview` serves every dock that previews a commit (fill,
morphology); it and :class:`ChangePreview` are also importable from
:mod:`.fill`, where they used to live.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["ChangePreview", "change_preview"]


class ChangePreview(NamedTuple):
    """Result of :func:`change_preview`.

    Attributes
    ----------
    data : ndarray of signed int
        The new value on changed pixels, 0 on unchanged ones, and
        ``zero_value`` on pixels whose new value is 0 (so they stay visible).
    n_changed : int
        Number of changed pixels.
    n_zero : int
        Number of changed pixels whose new value is 0.
    zero_value : int
        The value standing for "becomes 0" in ``data``.
    values : tuple of int
        The distinct new values of changed pixels (``zero_value`` for 0).
    """

    data: NDArray[np.signedinteger]
    n_changed: int
    n_zero: int
    zero_value: int
    values: tuple[int, ...]


def _signed_dtype(dtype: np.dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype == np.bool_ or dtype.kind == "i" and dtype.itemsize < 4:
        return np.dtype(np.int32)
    if dtype.kind == "i":
        return dtype
    if dtype.kind == "u":
        return np.dtype(np.int32 if dtype.itemsize < 4 else np.int64)
    raise TypeError(f"labels must be an integer label image, got dtype {dtype}")


def change_preview(
    after: ArrayLike,
    *,
    before: ArrayLike | None = None,
    changed: ArrayLike | None = None,
    zero_value: int = -1,
) -> ChangePreview:
    """Show which pixels change, and to what: the new value on changed pixels, 0 elsewhere.

    A changed pixel whose new value is 0 (the background of a label image)
    gets ``zero_value`` instead, so that it remains visible.

    Parameters
    ----------
    after : array_like of int
        The new labels.
    before : array_like of int, optional
        The old labels (same shape); ``changed`` is ``before != after``.
    changed : array_like of bool, optional
        Which pixels change, when there are no old labels to compare (e.g. a
        colour mask). Exactly one of ``before`` and ``changed`` is required.
    zero_value : int, optional
        Stands for "becomes 0" (default -1). If -1 is itself a new value, the
        smallest value of the preview dtype is used.

    Returns
    -------
    ChangePreview
        ``data`` (int32, or int64 for wide labels), ``n_changed``, ``n_zero``,
        ``zero_value`` and ``values``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.fill import change_preview
    >>> p = change_preview(np.array([[1, 1, 0]]), before=np.array([[0, 1, 2]]))
    >>> p.data.tolist(), p.n_changed, p.n_zero
    ([[1, 0, -1]], 2, 1)
    """
    new = np.asarray(after)
    if (before is None) == (changed is None):
        raise ValueError("pass exactly one of before= (old labels) and changed= (bool mask)")
    if before is not None:
        old = np.asarray(before)
        if old.shape != new.shape:
            raise ValueError(
                f"before and after must have the same shape, got {old.shape} and {new.shape}"
            )
        mask = old != new
    else:
        mask = np.asarray(changed, dtype=bool)
        if mask.shape != new.shape:
            raise ValueError(
                f"changed must have the shape of after, got {mask.shape} and {new.shape}"
            )
    dtype = _signed_dtype(new.dtype)
    data = np.zeros(new.shape, dtype=dtype)
    vals = new[mask].astype(dtype)
    values = np.unique(vals)
    if zero_value in values:
        zero_value = int(np.iinfo(dtype).min)
    zero = vals == 0
    vals[zero] = zero_value
    data[mask] = vals
    n_zero = int(zero.sum())
    shown = [int(v) for v in values if v != 0] + ([zero_value] if n_zero else [])
    return ChangePreview(data, int(mask.sum()), n_zero, int(zero_value), tuple(sorted(shown)))
