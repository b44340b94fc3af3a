"""Compatibility shim: the names that used to live here, re-exported.

The machinery of the docks is split by concern:

* :mod:`._engine` - :class:`LiveWidget` (debounce, worker, newest wins, preview), Job, Result
* :mod:`._write` - :func:`write_labels`, THE single undoable all-or-nothing write
* :mod:`._napari_compat` - every use of napari's private API
* :mod:`._layers` - layer pickers, copies, new aligned layers, owned-layer prefixes
* :mod:`._scope` - slicing (:func:`current_region`) and the scope dropdown
* :mod:`._docking` - dock tabbing and visibility
* :mod:`._history` - following edits, undo and redo of the source layers
* :mod:`._recording` - the recipe of each viewer (:func:`recorder_for`)

Import from those modules in new code.
"""

from napari.utils.notifications import show_error, show_info, show_warning  # noqa: F401

from ._docking import _OUR_DOCKS, _VisibilityFilter  # noqa: F401
from ._engine import _PROGRESS_PIXELS, Job, LiveWidget, Result  # noqa: F401
from ._errors import InputError  # noqa: F401
from ._layers import (  # noqa: F401
    _OWNED_PREFIXES,
    PREVIEW_PREFIX,
    SEEDS_PREFIX,
    _edit_events,
    _set_if_changed,
    compact_labels,
    image_array,
    layer_choices,
    layer_combo,
    new_labels_layer,
    prefer_visible_layer,
    wrapping_label,
)
from ._napari_compat import history_signature  # noqa: F401
from ._recording import recorder_for  # noqa: F401
from ._scope import current_region  # noqa: F401
from ._write import WriteError, check_fits_dtype, write_labels  # noqa: F401
