"""Colouring a "what will change" preview (Fill holes, Morphology).

The preview data comes from :func:`napari_maskclean.core.fill.change_preview`:
the new label on changed pixels, 0 on unchanged ones and ``zero_value`` where
a pixel becomes background. This module turns it into a label colormap.
"""

from __future__ import annotations

import numpy as np
from napari.utils.colormaps import DirectLabelColormap

from ..core.fill import ChangePreview


def compact_changes(preview: ChangePreview) -> ChangePreview:
    """Return ``preview`` with uint8/uint16 data when its values fit (run off the GUI thread).

    napari draws uint8/uint16 labels straight from a texture but maps int32 pixel by
    pixel on every redraw; a change preview is int32 and marks "becomes 0" with -1.
    Here "becomes 0" is the first value above the new labels instead, so the data fit
    in the smallest unsigned dtype. Wide or negative labels: ``preview`` unchanged.
    """
    values = [v for v in preview.values if v != preview.zero_value]
    if any(v < 0 for v in values):
        return preview
    zero = max(values, default=0) + 1
    for dtype in (np.uint8, np.uint16):
        if zero <= np.iinfo(dtype).max:
            break
    else:
        return preview
    data = preview.data.astype(dtype)
    if preview.n_zero:
        data[preview.data == preview.zero_value] = zero
    shown = tuple(sorted(values + ([zero] if preview.n_zero else [])))
    return ChangePreview(data, preview.n_changed, preview.n_zero, zero, shown)


#: Colour of "becomes background (0)".
BECOMES_ZERO = (1.0, 1.0, 1.0, 1.0)
#: Colour of every changed pixel with "highlight changes" on.
HIGHLIGHT = (1.0, 0.0, 1.0, 1.0)
TRANSPARENT = (0.0, 0.0, 0.0, 0.0)


def change_colormap(
    preview: ChangePreview,
    colours: dict | None = None,
    *,
    source_colormap=None,
    zero_colour: tuple = BECOMES_ZERO,
    highlight: bool = False,
    highlight_zero: bool = False,
) -> DirectLabelColormap:
    """Return the colormap of a change preview.

    Parameters
    ----------
    preview : ChangePreview
        What changes.
    colours : dict, optional
        Colour of each new label value; missing values take ``source_colormap``'s.
    source_colormap : napari colormap, optional
        The target layer's colormap, so that new pixels look like their label.
    zero_colour : tuple, optional
        Colour of pixels that become background (default white).
    highlight : bool, optional
        Colour changed pixels magenta instead of in their new label's colour
        (those becoming background keep ``zero_colour``).
    highlight_zero : bool, optional
        With ``highlight``, colour those becoming background magenta too.

    Returns
    -------
    DirectLabelColormap
        Unchanged pixels (0) transparent.
    """
    if highlight:
        # One colour for every changed pixel: the default colour (key None), so the
        # colormap does not depend on the result and is not rebuilt for each one.
        zero = HIGHLIGHT if highlight_zero else zero_colour
        return DirectLabelColormap(color_dict={None: HIGHLIGHT, 0: TRANSPARENT,
                                               preview.zero_value: zero})
    values = [v for v in preview.values if v != preview.zero_value]
    colours = dict(colours or {})
    missing = [v for v in values if v not in colours]
    if missing and source_colormap is not None:
        mapped = source_colormap.map(np.asarray(missing, dtype=np.int64))
        colours.update({v: tuple(c) for v, c in zip(missing, mapped)})
    colours = {v: colours.get(v, HIGHLIGHT) for v in values}
    colours[preview.zero_value] = zero_colour
    colours.update({None: TRANSPARENT, 0: TRANSPARENT})
    return DirectLabelColormap(color_dict=colours)
