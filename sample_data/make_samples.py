"""Regenerate the demo files in this folder from napari_maskclean.samples.

Run from the repository root::

    /work/venv/bin/python sample_data/make_samples.py

Existing files are replaced. The output is deterministic: running the script
twice gives the same pixel values (see README.md for what each file holds).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

try:
    import napari_maskclean  # noqa: F401
except ImportError:  # run as a script from a source checkout
    sys.path.insert(0, str(HERE.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from napari_maskclean import io, samples  # noqa: E402


def main(folder: Path = HERE) -> list[Path]:
    """Write every sample file into ``folder`` and return their paths."""
    import tifffile

    def png(name: str, image: np.ndarray) -> Path:
        path = folder / name
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        if not cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
            raise OSError(f"could not write {path}")
        return path

    written: list[Path] = []
    coins = samples.coins_sample()
    written.append(png("coins_image.png", coins["image"]))
    written.append(io.write_mask(folder / "coins_truth.png", coins["truth"], overwrite=True))
    written.append(
        io.write_mask(folder / "coins_annotation.png", coins["annotation"], overwrite=True)
    )

    rgb = samples.rgb_mask_sample()
    # Plain 8-bit RGB PNGs (lossless); clean == palette[labels].
    written.append(png("rgb_mask_clean.png", rgb["clean"]))
    written.append(png("rgb_mask_noisy.png", rgb["noisy"]))
    written.append(io.save_palette(folder / "rgb_palette.json", rgb["palette"], overwrite=True))

    blobs = samples.blobs3d_sample()
    image_path = folder / "blobs3d_image.tif"
    # Grey image with its voxel spacing, readable by Fiji and tifffile.
    tifffile.imwrite(
        image_path,
        blobs["image"],
        imagej=True,
        metadata={"axes": "ZYX", "spacing": blobs["scale"][0]},
        resolution=(1.0 / blobs["scale"][2], 1.0 / blobs["scale"][1]),
        compression="zlib",
    )
    written.append(image_path)
    truth = blobs["truth"].astype(np.uint16)
    written.append(io.write_mask(folder / "blobs3d_truth.tif", truth, overwrite=True))
    return written


if __name__ == "__main__":
    paths = main()
    total = sum(p.stat().st_size for p in paths)
    sys.stdout.write(
        "".join(f"{p.name:24s} {p.stat().st_size / 1024:8.1f} KiB\n" for p in paths)
        + f"{'total':24s} {total / 1024:8.1f} KiB\n"
    )
