"""The overlay of the Compare dock: its colours, its legend and the Labels layer showing it.

The codes come from the model (:class:`~napari_maskclean.core.review.LiveComparison`:
TN 0, TP 1, FP 2, FN 3, wrong class 4); how they look is decided here.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from napari.layers import Labels
from napari.utils.colormaps import DirectLabelColormap
from qtpy.QtWidgets import QHBoxLayout, QLabel, QWidget

from ...core.review import TN

__all__ = [
    "OVERLAY_COLORS",
    "OVERLAY_NAMES",
    "OverlayMixin",
    "heat_colors",
    "overlay_color_dict",
    "overlay_palette",
]

#: Name of each overlay code (index = code).
OVERLAY_NAMES: tuple[str, ...] = ("TN", "TP", "FP", "FN", "wrong class")
#: Legend colour (RGB, uint8) of each overlay code: TN grey, TP bluish green,
#: FP magenta, FN yellow, wrong class vermilion. Green/magenta/yellow stay
#: distinct under the common colour-vision deficiencies (Okabe-Ito hues).
OVERLAY_COLORS: npt.NDArray[np.uint8] = np.array(
    [[128, 128, 128], [0, 158, 115], [255, 0, 255], [240, 228, 66], [213, 94, 0]],
    dtype=np.uint8,
)


def heat_colors(cm: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """Cell colours (RGB) of a confusion-matrix heatmap, normalised per truth row.

    White for 0 % of the row, dark blue for 100 %.

    Examples
    --------
    >>> heat_colors(np.array([[3, 1], [0, 0]]))[0].tolist()
    [[59, 91, 164], [174, 187, 217]]
    """
    c = np.asarray(cm, dtype=np.float64)
    rows = c.sum(axis=1, keepdims=True)
    frac = np.divide(c, rows, out=np.zeros_like(c), where=rows > 0)
    white = np.array([255.0, 255.0, 255.0])
    blue = np.array([8.0, 48.0, 140.0])
    rgb = white + (blue - white) * (frac[..., None] ** 0.8)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def overlay_palette(*, show_tn: bool = False) -> npt.NDArray[np.uint8]:
    """RGB palette of the overlay codes for a PNG (TN black unless shown).

    Examples
    --------
    >>> overlay_palette()[:2].tolist()
    [[0, 0, 0], [0, 158, 115]]
    """
    pal = OVERLAY_COLORS.copy()
    if not show_tn:
        pal[TN] = 0
    return pal


def overlay_color_dict(*, show_tn: bool = False, tn_alpha: float = 0.45) -> dict:
    """Colours (RGBA floats 0..1) of the overlay codes for a label colormap.

    The key ``None`` (any other value) is transparent; TN is transparent unless
    ``show_tn``.

    Examples
    --------
    >>> d = overlay_color_dict()
    >>> d[0], d[2]
    ((0.0, 0.0, 0.0, 0.0), (1.0, 0.0, 1.0, 1.0))
    """
    out: dict = {None: (0.0, 0.0, 0.0, 0.0)}
    for code, rgb in enumerate(OVERLAY_COLORS):
        r, g, b = (float(v) / 255.0 for v in rgb)
        out[code] = (r, g, b, 1.0)
    out[TN] = out[TN][:3] + (float(tn_alpha),) if show_tn else (0.0, 0.0, 0.0, 0.0)
    return out


def _rgb_css(rgb) -> str:
    return "rgb({}, {}, {})".format(*(int(v) for v in rgb[:3]))


class OverlayMixin:
    """The legend chips and the overlay layer of :class:`CompareWidget`."""

    def _build_legend(self) -> QWidget:
        legend = QWidget()
        legend.setToolTip("Colours of the overlay layer (counts in pixels).")
        lay = QHBoxLayout(legend)
        lay.setContentsMargins(0, 0, 0, 0)
        self._legend_labels: list[QLabel] = []
        for code, name in enumerate(OVERLAY_NAMES):
            chip = QLabel(name)
            chip.setStyleSheet(
                f"background: {_rgb_css(OVERLAY_COLORS[code])}; color: black; "
                "padding: 2px 4px; border-radius: 3px;")
            chip.setToolTip(f"{name}: overlay code {code}")
            lay.addWidget(chip)
            self._legend_labels.append(chip)
        lay.addStretch(1)
        return legend

    def _show_code_counts(self, counts: dict[int, int]) -> None:
        for code, count in counts.items():
            self._legend_labels[code].setText(f"{OVERLAY_NAMES[code]} {count:,}")

    def _colours_changed(self, *_args) -> None:
        self._legend_labels[TN].setVisible(bool(self.show_tn.value))
        layer = self.preview_layer()
        if layer is not None:
            layer.colormap = self._colormap()

    def _colormap(self) -> DirectLabelColormap:
        return DirectLabelColormap(color_dict=overlay_color_dict(show_tn=self.show_tn.value))

    def _show_overlay(self) -> None:
        """Show the state's codes in the overlay layer (created once, then updated in place)."""
        job, state = self._state_job, self._state
        source = job.source
        ndim = len(job.common)
        scale, translate = source.scale[-ndim:], source.translate[-ndim:]
        layer = self.preview_layer()
        if layer is not None and not (isinstance(layer, Labels)
                                      and layer.data.shape == tuple(job.common)
                                      and layer.data.dtype == np.uint8
                                      and isinstance(layer.data, np.ndarray)):
            self.viewer.layers.remove(layer)
            layer = None
        if layer is not None:
            # Copying into the displayed array is much cheaper for napari than
            # replacing layer.data (which re-slices and resets the layer).
            if job.region and any(not isinstance(k, slice) for k in job.region):
                layer.data[...] = TN
            layer.data[job.region] = state.codes
            if not np.array_equal(layer.scale, scale):
                layer.scale = scale
            if not np.array_equal(layer.translate, translate):
                layer.translate = translate
            layer.refresh()
            return
        full = np.zeros(job.common, dtype=np.uint8)
        full[job.region] = state.codes
        active = self.viewer.layers.selection.active
        layer = Labels(full, name=self.preview_name, scale=scale, translate=translate,
                       opacity=0.7, blending="translucent")
        layer.colormap = self._colormap()
        layer.editable = False
        self.viewer.add_layer(layer)
        if active is not None:
            self.viewer.layers.selection.active = active  # keep the user's selection
