"""Small conversions shared by the operations: RGB to grey, input checks."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = ["RGB_CHANNELS", "to_grey"]

#: How an RGB(A) image can be reduced to one channel.
RGB_CHANNELS = ("luminance", "red", "green", "blue")

# ITU-R BT.709 luma weights, the ones skimage.color.rgb2gray uses.
_LUMA = np.array([0.2125, 0.7154, 0.0721])


def to_grey(
    image: NDArray, *, channel: Literal["luminance", "red", "green", "blue"] = "luminance"
) -> NDArray:
    """Reduce an RGB(A) image (channels last) to one channel.

    Parameters
    ----------
    image : ndarray, shape (..., 3) or (..., 4)
        The colour image; an alpha channel is ignored.
    channel : {"luminance", "red", "green", "blue"}
        ``"luminance"`` gives the same values as :func:`skimage.color.rgb2gray`
        (float64, in the input's units: an uint8 image gives values in 0..255);
        a colour name returns that channel unchanged (same dtype).

    Returns
    -------
    ndarray
        The grey image, shape ``image.shape[:-1]``.

    Examples
    --------
    >>> rgb = np.zeros((2, 2, 3), dtype=np.uint8); rgb[..., 1] = 100
    >>> to_grey(rgb, channel="green")[0, 0]
    np.uint8(100)
    >>> round(float(to_grey(rgb)[0, 0]), 2)
    71.54
    """
    image = np.asarray(image)
    if image.ndim < 3 or image.shape[-1] not in (3, 4):
        raise ValueError(
            f"expected an RGB(A) image with 3 or 4 channels last, got shape {image.shape}; "
            "pass a grey image directly instead of converting it"
        )
    if channel == "luminance":
        return image[..., :3] @ _LUMA
    if channel not in RGB_CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; choose one of {RGB_CHANNELS}")
    return image[..., RGB_CHANNELS.index(channel) - 1].copy()
