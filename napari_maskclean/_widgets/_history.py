"""Following edits of a widget's source layers, undo and redo included.

napari's ``undo()``/``redo()`` emit no ``paint`` or ``data`` event, only
``set_data`` (which slider moves emit too), and nothing at all on a hidden
layer. :class:`SourceWatcher` (mixed into LiveWidget) connects to the edit
events and also polls the layers' undo-stack lengths
(:func:`~napari_maskclean._widgets._napari_compat.history_signature`, cheap).
"""

from __future__ import annotations

from types import SimpleNamespace

from napari.layers import Labels

from ._layers import _edit_events
from ._napari_compat import history_signature

#: How often the undo stacks of the source layers are looked at (ms).
POLL_MS = 250


class SourceWatcher:
    """Mixin: ``source_edits`` counts edits of ``source_layers()``; each one calls ``request()``.

    Needs ``viewer``, ``source_layers()``, ``request()``, ``_closed``,
    ``_snapshots`` and ``source_edits`` from the widget.
    """

    def _rewatch_sources(self) -> None:
        """Follow edits of the current source layers (paint, fill, commits, undo, new data)."""
        self._unwatch_sources()
        self._snapshots.clear()
        self._source_layers = [
            lay for lay in self.source_layers() if lay is not None and lay in self.viewer.layers
        ]
        self._history = {id(lay): history_signature(lay) for lay in self._source_layers}
        for layer in self._source_layers:
            for ev in _edit_events(layer):
                ev.connect(self._source_edited)

    def _source_edited(self, event=None) -> None:
        if getattr(event, "type", None) == "set_data":
            # set_data also fires on every slider move; only an undo/redo changes the data.
            layer = getattr(event, "source", None)
            sig = history_signature(layer)
            if sig == self._history.get(id(layer)):
                return
            self._history[id(layer)] = sig
        elif getattr(event, "source", None) is not None:
            self._history[id(event.source)] = history_signature(event.source)
        self.source_edits += 1
        self.request()

    def check_history(self) -> bool:
        """Treat an undo/redo that napari did not announce as an edit; True if one was found."""
        found = False
        if self._closed:
            return found
        for layer in list(self._source_layers):
            if not isinstance(layer, Labels) or layer not in self.viewer.layers:
                continue
            sig = history_signature(layer)
            if sig is not None and sig != self._history.get(id(layer)):
                found = True
                self._source_edited(SimpleNamespace(source=layer, type="set_data"))
        return found

    def _unwatch_sources(self) -> None:
        for layer in self._source_layers:
            for ev in _edit_events(layer):
                try:
                    ev.disconnect(self._source_edited)
                except (TypeError, ValueError, RuntimeError):
                    pass
        self._source_layers = []
