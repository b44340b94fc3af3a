"""Shared fixtures: simulated mouse events and a helper to wait for live previews."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run the tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@dataclass
class Click:
    """A minimal stand-in for a vispy mouse event, as napari's callbacks read it."""

    position: tuple
    modifiers: tuple = ()
    type: str = "mouse_press"
    button: int = 1
    dims_displayed: list = field(default_factory=lambda: [0, 1])
    view_direction: tuple | None = None
    handled: bool = False
    delta: tuple = (0.0, 0.0)
    is_dragging: bool = False


@pytest.fixture
def click_event():
    """Factory for :class:`Click` events."""
    return Click


def wait_for_result(qtbot, widget, timeout=10000):
    """Wait until ``widget`` (a LiveWidget) has a result for its newest request."""
    qtbot.waitUntil(lambda: widget.is_current() or widget.last_error is not None,
                    timeout=timeout)
    assert widget.last_error is None, widget.last_error
    return widget.last_result


@pytest.fixture
def rng():
    """A seeded random generator."""
    return np.random.default_rng(1234)
