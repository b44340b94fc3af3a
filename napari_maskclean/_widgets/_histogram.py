"""A small histogram view with draggable threshold lines (plain QPainter, no matplotlib)."""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QPointF, QRectF, Qt, Signal
from qtpy.QtGui import QColor, QPainter, QPen
from qtpy.QtWidgets import QSizePolicy, QWidget


class HistogramView(QWidget):
    """Log-scaled histogram bars with one or more vertical threshold lines.

    Click or drag in the plot to set the level (emits :attr:`levelChanged`); the
    widget only displays, the threshold itself is computed by the core.
    """

    levelChanged = Signal(float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Histogram of the image (log counts). Click or drag to set a manual level.")
        self._counts = np.zeros(0)
        self._edges = np.array([0.0, 1.0])
        self.lines: list[float] = []

    def set_histogram(self, counts: np.ndarray, edges: np.ndarray) -> None:
        """Show new histogram data (``len(edges) == len(counts) + 1``)."""
        self._counts = np.log1p(np.asarray(counts, dtype=float))
        self._edges = np.asarray(edges, dtype=float)
        self.update()

    def set_lines(self, values) -> None:
        """Show threshold line(s) at these data values (empty: none)."""
        arr = np.atleast_1d(np.asarray(values, dtype=float)) if values is not None else []
        self.lines = [float(v) for v in arr if np.isfinite(v)] if np.ndim(arr) == 1 else []
        self.update()

    # ---- geometry ---------------------------------------------------------------------
    def _plot_rect(self) -> QRectF:
        return QRectF(4, 4, max(self.width() - 8, 1), max(self.height() - 8, 1))

    def _x_of(self, value: float) -> float:
        r = self._plot_rect()
        lo, hi = self._edges[0], self._edges[-1]
        frac = 0.0 if hi == lo else (value - lo) / (hi - lo)
        return r.left() + frac * r.width()

    def value_at(self, x: float) -> float:
        """Return the data value under widget x coordinate ``x``."""
        r = self._plot_rect()
        lo, hi = self._edges[0], self._edges[-1]
        frac = min(max((x - r.left()) / r.width(), 0.0), 1.0)
        return float(lo + frac * (hi - lo))

    # ---- painting and mouse -----------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        """Draw bars and lines."""
        p = QPainter(self)
        r = self._plot_rect()
        p.fillRect(self.rect(), QColor(38, 41, 48))
        n = len(self._counts)
        top = self._counts.max() if n else 0
        if n and top > 0:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(160, 170, 190))
            w = r.width() / n
            for i, c in enumerate(self._counts):
                h = r.height() * c / top
                p.drawRect(QRectF(r.left() + i * w, r.bottom() - h, max(w, 1.0), h))
        pen = QPen(QColor(255, 170, 0))
        pen.setWidth(2)
        p.setPen(pen)
        for v in self.lines:
            x = self._x_of(v)
            p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
        p.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        """Set the level where the user clicks."""
        self.levelChanged.emit(self.value_at(event.position().x()))

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        """Drag the level."""
        if event.buttons():
            self.levelChanged.emit(self.value_at(event.position().x()))
