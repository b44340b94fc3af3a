"""The user's layers as the docks see them: pickers, copies, new aligned layers.

The plugin owns the layers whose names start with :data:`PREVIEW_PREFIX` or
:data:`SEEDS_PREFIX`; they are never offered as inputs or targets.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, Label
from napari.layers import Labels, Layer

from ._errors import InputError

#: Prefix of the layers the plugin owns; they are never treated as user data.
PREVIEW_PREFIX = "[preview] "
#: Prefix of the seed Points layers the plugin owns.
SEEDS_PREFIX = "[seeds] "
_OWNED_PREFIXES = (PREVIEW_PREFIX, SEEDS_PREFIX)


def is_owned(layer) -> bool:
    """True for the plugin's own layers (previews, seeds)."""
    return getattr(layer, "name", "").startswith(_OWNED_PREFIXES)


def image_array(layer: Layer, region: tuple = ()) -> np.ndarray:
    """Return a copy of ``layer.data[region]`` as a NumPy array.

    A copy, because the job reads it on another thread while the user may paint.
    """
    data = layer.data
    if getattr(layer, "multiscale", False):
        raise InputError(
            f"layer {layer.name!r} is multiscale; open its full-resolution level as a "
            "normal layer to work on it."
        )
    return np.array(data[region], copy=True)


def layer_choices(viewer, kinds: type | tuple[type, ...], *, rgb: bool | None = None):
    """Return a ``choices`` callable listing the user's layers of the given types."""

    def choices(_widget=None) -> list[Layer]:
        out = []
        for layer in viewer.layers:
            if not isinstance(layer, kinds) or layer.name.startswith(_OWNED_PREFIXES):
                continue
            if rgb is not None and getattr(layer, "rgb", False) != rgb:
                continue
            out.append(layer)
        return out

    return choices


def compact_labels(data: np.ndarray) -> np.ndarray:
    """Return label ``data`` in the smallest unsigned dtype that holds it, for display.

    napari draws uint8/uint16 labels straight from a texture, but maps wider dtypes
    pixel by pixel; the label values (and so the colours) are unchanged.
    """
    if data.dtype == bool:
        return data.view(np.uint8)
    if data.dtype.kind not in "iu" or data.dtype.itemsize == 1 or data.size == 0:
        return data
    lo, hi = int(data.min()), int(data.max())
    if lo < 0:
        return data
    for dtype in (np.uint8, np.uint16):
        if hi <= np.iinfo(dtype).max:
            return data.astype(dtype) if data.dtype != dtype else data
    return data


def _set_if_changed(layer: Layer, name: str, value) -> None:
    if not np.array_equal(getattr(layer, name), value):
        setattr(layer, name, value)


def _edit_events(layer) -> list:
    """The events that signal a change of a layer's data."""
    names = ("data", "paint", "set_data") if isinstance(layer, Labels) else ("data",)
    return [getattr(layer.events, n) for n in names if hasattr(layer.events, n)]


def layer_combo(viewer, kinds, *, label: str, tooltip: str, rgb: bool | None = None,
                nullable: bool = False, null_text: str = "(new layer)") -> ComboBox:
    """Return a ComboBox listing the user's layers of ``kinds`` (never preview layers).

    With ``nullable``, the first entry is None, shown as ``null_text``.
    """
    combo = ComboBox(label=label, tooltip=tooltip, nullable=nullable)
    combo.null_string = null_text  # magicgui shows "-----" otherwise
    combo.choices = layer_choices(viewer, kinds, rgb=rgb)
    return combo


def wrapping_label() -> Label:
    """A status Label that wraps long messages instead of widening the dock."""
    from qtpy.QtWidgets import QSizePolicy

    label = Label(value="")
    label.native.setWordWrap(True)
    # Without this a long message makes the dock (and the window) wider and
    # squeezes the canvas; the label takes the width the dock gives it.
    label.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.native.setMinimumWidth(60)
    return label


def prefer_visible_layer(combo: ComboBox, viewer) -> None:
    """Start ``combo`` on the layer the user works on, not on a hidden one.

    The active layer if it is a choice, else the topmost visible choice; left
    alone when there is none (magicgui's default is the bottom layer, which in
    the samples is a hidden ground truth).
    """
    choices = [c for c in combo.choices if c is not None]
    active = viewer.layers.selection.active
    if active in choices:
        pick = active
    else:
        visible = [c for c in choices if c.visible]
        pick = visible[-1] if visible else None  # choices run bottom to top
    if pick is not None and combo.value is not pick:
        combo.value = pick


def new_labels_layer(viewer, like: Layer, name: str, dtype=np.int32) -> Labels:
    """Add an empty Labels layer aligned with ``like`` (same shape, scale, translate)."""
    shape = like.data.shape[: like.ndim]  # ndim excludes an RGB channel axis
    ndim = len(shape)
    layer = Labels(
        np.zeros(shape, dtype=dtype), name=name,
        scale=like.scale[-ndim:], translate=like.translate[-ndim:],
    )
    viewer.add_layer(layer)
    return layer
