"""Dock tabbing: a new dock of the plugin opens as a tab beside the plugin's others.

The dock's content scrolls (so a tall dock never makes the main window taller),
and its tab shows the widget's short title in full (never elided to "Th…").
Also follows the dock's visibility (a background tab, closed) so that a
:class:`~napari_maskclean._widgets._engine.LiveWidget` can pause its preview.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from qtpy.QtCore import QEvent, QObject, Qt, QTimer
from qtpy.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QTabBar

if TYPE_CHECKING:
    from ._engine import LiveWidget

#: The docks of this plugin's widgets, so that a new one opens as a tab beside them.
_OUR_DOCKS: weakref.WeakSet = weakref.WeakSet()
#: The minimum height napari gives a dock (QtViewerDockWidget.__init__).
_DOCK_MIN_HEIGHT = 50


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
        # Until its first show puts it in a scroll area, a tall widget must not give its
        # dock (and so the main window) its height: an explicit minimum overrides the
        # layout's (any value > 0; _scroll_content restores the layout's).
        widget.native.setMinimumHeight(1)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Show and self._dock is None:
            parent = obj.parent()
            while parent is not None and not isinstance(parent, QDockWidget):
                parent = parent.parent()
            if parent is not None:
                self._dock = parent
                parent.setWindowTitle(self._widget.title)  # the tab's text
                _scroll_content(parent)
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
        _readable_tabs(main)

    def _dock_visibility(self, visible: bool) -> None:
        self._widget._dock_visible = visible
        try:  # Qt makes a new tab bar when the user regroups docks
            _readable_tabs(self._dock.parentWidget())
        except RuntimeError:
            pass
        if not self._widget.pause_when_hidden:
            return
        try:
            self._widget.set_hidden(not visible)
        except RuntimeError:  # Qt objects already deleted (closing)
            pass


def _scroll_content(dock: QDockWidget) -> None:
    """Put the dock's content in a vertical scroll area.

    A dock's minimum height is its content's: a tall dock (Compare's tables, Fill
    holes' options) tabbed with the others, or stacked under them while it opens,
    made the main window taller than the screen (950 -> 1211 px). Scrolled, a dock
    is as tall as the window gives it.
    """
    inner = dock.widget()
    if inner is None or isinstance(inner, QScrollArea):
        return
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    # napari's dock.inner_widget() (returned when the dock is opened again) finds the
    # magicgui widget through this attribute of the dock's widget.
    magic = getattr(inner, "_magic_widget", None)
    inner.setMinimumHeight(0)  # the layout's minimum again, inside the scroll area
    dock.setWidget(scroll)
    scroll.setWidget(inner)
    if magic is not None:
        scroll._magic_widget = magic
    scroll.setMinimumWidth(inner.minimumSizeHint().width())
    # The dock keeps the minimum height its first content gave it (fixed by then, so the
    # layout does not lower it): back to napari's own floor for docks.
    dock.setMinimumHeight(_DOCK_MIN_HEIGHT)


def _readable_tabs(main) -> None:
    """Show the tab titles of the plugin's docks in full (scroll buttons if too many).

    Qt's default elides them to the tab's share of the dock's width ("Th…", "Fi…").
    """
    if not isinstance(main, QMainWindow):
        return
    titles = set()
    for dock in list(_OUR_DOCKS):
        try:
            titles.add(dock.windowTitle())
        except RuntimeError:
            _OUR_DOCKS.discard(dock)
    for bar in main.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
        if any(bar.tabText(i) in titles for i in range(bar.count())):
            bar.setElideMode(Qt.TextElideMode.ElideNone)
            bar.setUsesScrollButtons(True)
            bar.setExpanding(False)
