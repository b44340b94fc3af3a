"""Napari-free core operations: arrays in, new arrays out."""

from .convert import RGB_CHANNELS, to_grey

__all__ = ["RGB_CHANNELS", "to_grey"]
