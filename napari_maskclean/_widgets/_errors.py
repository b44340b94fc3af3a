"""The exception the docks show to the user instead of a traceback."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input detected by a widget before any work starts (shown to the user)."""
