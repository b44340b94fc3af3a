"""Realistic synthetic colour-coded masks, for tests and benchmarks.

Colour masks met in practice are rarely exact: they are saved as JPEG or drawn
with anti-aliasing. These generators make such masks together with their true
class labels, so that the share of pixels restored to their true class can be
measured (``tests/``, ``benchmarks/bench_color_masks.py``).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

__all__ = ["OKABE_ITO", "antialiased_map", "blob_map", "jpeg"]

#: Six class colours (black background + 5 Okabe-Ito colours), row k = class k.
OKABE_ITO: NDArray[np.uint8] = np.array(
    [[0, 0, 0], [230, 159, 0], [86, 180, 233], [0, 158, 115], [240, 228, 66],
     [204, 121, 167]], dtype=np.uint8)
OKABE_ITO.setflags(write=False)


def blob_map(shape: tuple[int, int] = (512, 512), n_classes: int = 6, *,
             seed: int = 0) -> NDArray[np.int32]:
    """Class labels 0..n_classes-1 made of smooth blobs of a few sizes.

    Class 0 is the background; each other class is a thresholded smooth random
    field (blob sizes from a few to tens of pixels across), painted in turn.
    """
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, np.int32)
    sizes = (24.0, 12.0, 6.0, 16.0, 8.0, 4.0)
    for k in range(1, n_classes):
        sigma = sizes[(k - 1) % len(sizes)]  # pixels: a small map is a crop, not a zoom
        field = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigma)
        labels[field > np.quantile(field, 0.85)] = k
    return labels


def antialiased_map(shape: tuple[int, int] = (512, 512),
                    palette: NDArray[np.uint8] = OKABE_ITO, *, n_shapes: int = 60,
                    seed: int = 0) -> tuple[NDArray[np.int32], NDArray[np.uint8]]:
    """Ellipses and thick lines drawn with ``cv2.LINE_AA`` (colour) and ``LINE_8`` (truth).

    Returns the true labels and the anti-aliased RGB mask.
    """
    rng = np.random.default_rng(seed)
    h, w = shape
    labels = np.zeros(shape, np.int32)
    rgb = np.zeros((*shape, palette.shape[1]), np.uint8)
    for i in range(n_shapes):
        k = int(rng.integers(1, len(palette)))
        colour = [int(c) for c in palette[k]]
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        if i % 4 == 3:  # a thick line
            end = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            thick = int(rng.integers(3, 12))
            cv2.line(labels, centre, end, k, thick, cv2.LINE_8)
            cv2.line(rgb, centre, end, colour, thick, cv2.LINE_AA)
        else:
            scale = (60, 25, 10)[i % 3] * min(shape) / 512
            axes = (max(2, int(scale * rng.uniform(0.6, 1.4))),
                    max(2, int(scale * rng.uniform(0.6, 1.4))))
            angle = float(rng.uniform(0, 180))
            cv2.ellipse(labels, centre, axes, angle, 0, 360, k, -1, cv2.LINE_8)
            cv2.ellipse(rgb, centre, axes, angle, 0, 360, colour, -1, cv2.LINE_AA)
    return labels, rgb


def jpeg(rgb: NDArray[np.uint8], quality: int = 80) -> NDArray[np.uint8]:
    """``rgb`` after a round trip through a JPEG file of this quality (OpenCV)."""
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV always has a JPEG encoder
        raise RuntimeError("OpenCV could not encode a JPEG")
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
