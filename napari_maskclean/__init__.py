"""napari-maskclean: clean segmentation masks and check them against ground truth.

The package imports napari-free: the core operations are re-exported here so that
scripts and pipelines can use them without a GUI.
"""

__version__ = "0.1.0"

from .core import *  # noqa: F403
from .core import __all__ as _core_all

__all__ = ["__version__", *_core_all]
