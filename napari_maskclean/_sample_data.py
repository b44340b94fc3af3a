"""npe2 sample-data contributions: thin wrappers over :mod:`napari_maskclean.samples`."""

from __future__ import annotations

from . import samples


def coins() -> list[tuple]:
    """Coins photograph, its ground truth and a corrupted annotation."""
    s = samples.coins_sample()
    return [
        (s["image"], {"name": "coins"}, "image"),
        (s["truth"], {"name": "coins truth", "opacity": 0.5, "visible": False}, "labels"),
        (s["annotation"], {"name": "coins annotation", "opacity": 0.6}, "labels"),
    ]


def blobs3d() -> list[tuple]:
    """A 3D volume of blobs with its labels."""
    s = samples.blobs3d_sample()
    return [
        (s["image"], {"name": "blobs 3D", "scale": s["scale"]}, "image"),
        (s["truth"], {"name": "blobs 3D truth", "opacity": 0.5, "scale": s["scale"]}, "labels"),
    ]


def large() -> list[tuple]:
    """A 2048² image with about 200 annotated objects, for trying speed."""
    s = samples.large_sample()
    return [
        (s["image"], {"name": "large 2048"}, "image"),
        (s["annotation"], {"name": "large 2048 annotation", "opacity": 0.5}, "labels"),
    ]


def rgb_mask() -> list[tuple]:
    """An RGB colour-coded mask with anti-aliasing, JPEG specks and holes, and its clean version."""
    s = samples.rgb_mask_sample()
    return [
        (s["clean"], {"name": "RGB mask clean", "rgb": True, "visible": False}, "image"),
        (s["noisy"], {"name": "RGB mask noisy", "rgb": True}, "image"),
    ]
