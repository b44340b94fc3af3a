"""Every docstring example in the package runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import napari_maskclean

MODULES = sorted(m.name for m in pkgutil.walk_packages(napari_maskclean.__path__,
                                                        "napari_maskclean."))


def test_every_module_is_found():
    assert "napari_maskclean.core.noise" in MODULES
    assert "napari_maskclean._widgets.recipe_widget" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, extraglobs={"np": np},
                             optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
