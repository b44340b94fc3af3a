"""The "Compare with ground truth" dock, one module per concern (see ``widget.py``)."""

from .widget import CompareWidget

__all__ = ["CompareWidget"]
