"""Dock tabbing: a new dock of the plugin opens as a tab beside the plugin's others.

Also follows the dock's visibility (a background tab, closed) so that a
:class:`~napari_maskclean._widgets._engine.LiveWidget` can pause its preview.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from qtpy.QtCore import QEvent, QObject, QTimer
from qtpy.QtWidgets import QDockWidget, QMainWindow

if TYPE_CHECKING:
    from ._engine import LiveWidget

#: The docks of this plugin's widgets, so that a new one opens as a tab beside them.
_OUR_DOCKS: weakref.WeakSet = weakref.WeakSet()


class _VisibilityFilter(QObject):
    """Find a LiveWidget's dock at its first show: tab it, and follow its visibility.

    A new dock opens as a tab beside the plugin's docks already open (one preview
    at a time instead of several stacked docks with overlapping previews; drag it
    out to see two). A tabbed-away QDockWidget stays "visible" for Qt (its widgets
    get no hide event); only the dock's ``visibilityChanged`` signal says so, and a
    widget with ``pause_when_hidden`` pauses then. The dock is created around the
    widget after ``__init__``, so it is found at the first show.
    """

    def __init__(self, widget: LiveWidget) -> None:
        super().__init__(widget.native)
        self._widget = widget
        self._dock = None

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Show and self._dock is None:
            parent = obj.parent()
            while parent is not None and not isinstance(parent, QDockWidget):
                parent = parent.parent()
            if parent is not None:
                self._dock = parent
                parent.visibilityChanged.connect(self._dock_visibility)
                QTimer.singleShot(0, self._tab_with_the_others)  # once it is laid out
        return False

    def _tab_with_the_others(self) -> None:
        dock = self._dock
        try:
            main = dock.parentWidget()
            floating = dock.isFloating()
        except RuntimeError:  # deleted meanwhile
            return
        if isinstance(main, QMainWindow) and not floating:
            area = main.dockWidgetArea(dock)
            for other in list(_OUR_DOCKS):
                try:
                    fits = (other is not dock and other.parentWidget() is main
                            and not other.isHidden() and not other.isFloating()
                            and main.dockWidgetArea(other) == area)
                except RuntimeError:  # the dock of a closed viewer
                    _OUR_DOCKS.discard(other)
                    continue
                if fits:
                    main.tabifyDockWidget(other, dock)
                    dock.raise_()
                    break
        _OUR_DOCKS.add(dock)

    def _dock_visibility(self, visible: bool) -> None:
        self._widget._dock_visible = visible
        if not self._widget.pause_when_hidden:
            return
        try:
            self._widget.set_hidden(not visible)
        except RuntimeError:  # Qt objects already deleted (closing)
            pass
