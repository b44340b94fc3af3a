"""Deterministic demo data for napari-maskclean, generated in code.

Nothing is downloaded: the only external input is scikit-image's bundled
``skimage.data.coins()`` photograph (Greek coins from Pompeii, Brooklyn Museum
collection, no known copyright restrictions). Every corruption is drawn from a
fixed seed, so each function returns the same arrays on every call and on
every machine.

Each function returns a ``dict`` of plain NumPy arrays plus a ``"scale"``
tuple (one spacing per axis, for napari's ``scale=``) and a ``"metadata"`` dict
of JSON-able values. Results are cached; every call returns fresh copies, so
callers may modify them freely.

This module is napari-free; ``napari_maskclean._sample_data`` wraps it for
napari's sample-data menu.

Longer than the house's ~500 lines on purpose: it is one concern (the demo
data), four short generators each with its cache, sharing the seed, the palette
and the copy-on-return helpers; split apart they would only scatter those.

Why one module of ~600 lines: each sample is a generator and its cached
read-only copy, and they share the coins and stamping helpers; nothing else
imports them.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi

__all__ = [
    "SEED",
    "RGB_PALETTE",
    "RGB_CLASS_NAMES",
    "coins_sample",
    "blobs3d_sample",
    "large_sample",
    "rgb_mask_sample",
]

#: Seed of every random draw in this module.
SEED = 20240611

#: Palette of :func:`rgb_mask_sample`: row ``k`` is the colour of label ``k``,
#: black is label 0 (background). Okabe-Ito colours, distinguishable with
#: colour-vision deficiencies.
RGB_PALETTE: NDArray[np.uint8] = np.array(
    [
        [0, 0, 0],
        [230, 159, 0],
        [86, 180, 233],
        [0, 158, 115],
        [240, 228, 66],
        [204, 121, 167],
    ],
    dtype=np.uint8,
)
RGB_PALETTE.setflags(write=False)

#: Class names of :func:`rgb_mask_sample`, one per palette row.
RGB_CLASS_NAMES: tuple[str, ...] = (
    "background",
    "tissue",
    "nucleus",
    "vessel",
    "debris",
    "marker",
)


def _frozen(sample: dict[str, Any]) -> dict[str, Any]:
    """Mark the arrays of a cached sample read-only."""
    for value in sample.values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return sample


def _fresh(sample: dict[str, Any]) -> dict[str, Any]:
    """Return a deep copy of a cached sample with writable arrays."""
    return {
        key: value.copy() if isinstance(value, np.ndarray) else copy.deepcopy(value)
        for key, value in sample.items()
    }


# ----------------------------------------------------------------------------
# coins
# ----------------------------------------------------------------------------


def _coins_truth(image: NDArray[np.uint8]) -> NDArray[np.int32]:
    """Segment the coins photo into one clean label per coin.

    Marker-based watershed on the Sobel gradient of the lightly smoothed
    photo (dark background markers, bright coin markers), holes filled,
    specks removed, then each coin replaced by its convex hull: coins are
    convex, so the hull repairs the few notches where a dark patch of
    a coin's relief touches its rim.
    """
    from skimage import filters, measure, morphology, segmentation

    smooth = filters.gaussian(image, sigma=1.0, preserve_range=True)
    elevation = filters.sobel(smooth)
    markers = np.zeros(image.shape, dtype=np.int32)
    markers[smooth < 30] = 1
    markers[smooth > 150] = 2
    regions = segmentation.watershed(elevation, markers)
    foreground = ndi.binary_fill_holes(regions == 2)
    foreground = morphology.remove_small_objects(foreground, max_size=100)
    labels = measure.label(foreground, connectivity=1)
    truth = np.zeros(image.shape, dtype=np.int32)
    # label() numbers objects in raster order, so label k is the k-th coin
    # met scanning rows top to bottom.
    for region in measure.regionprops(labels):
        truth[region.slice][region.image_convex] = region.label
    return truth


def _disk_offsets(radius: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Row and column offsets of a digital disk of the given radius."""
    r = np.arange(-radius, radius + 1)
    rr, cc = np.meshgrid(r, r, indexing="ij")
    inside = rr**2 + cc**2 <= radius**2 + radius * 0.5
    return rr[inside], cc[inside]


def _stamp(target: NDArray[Any], center: tuple[int, int], radius: int, value: int) -> None:
    """Paint a disk into ``target`` in place, clipped to its bounds."""
    dr, dc = _disk_offsets(radius)
    rr = dr + center[0]
    cc = dc + center[1]
    ok = (rr >= 0) & (rr < target.shape[0]) & (cc >= 0) & (cc < target.shape[1])
    target[rr[ok], cc[ok]] = value


def _corrupt_annotation(
    truth: NDArray[np.int32], rng: np.random.Generator
) -> tuple[NDArray[np.int32], dict[str, Any]]:
    """Make a deliberately sloppy copy of a label image.

    Three coins are dropped, boundaries are made ragged by thresholding the
    signed distance plus smooth noise, holes are punched inside coins and
    specks (painted with a random existing label, like a stray brush click)
    are scattered over the background.
    """
    from skimage.segmentation import expand_labels

    labels = np.unique(truth[truth > 0])
    missing = np.sort(rng.choice(labels, size=3, replace=False))
    kept = np.where(np.isin(truth, missing), 0, truth).astype(np.int32)

    # Ragged edges: move the boundary by up to ~2 px with smooth noise.
    inside = kept > 0
    signed = ndi.distance_transform_edt(inside) - ndi.distance_transform_edt(~inside)
    noise = ndi.gaussian_filter(rng.standard_normal(truth.shape), sigma=1.2)
    noise /= noise.std()
    keep = signed - 0.5 + 1.3 * noise > 0
    annotation = np.where(keep, expand_labels(kept, distance=5), 0).astype(np.int32)

    # Holes: disks well inside coins (at least 4 px of coin around them).
    depth = ndi.distance_transform_edt(annotation > 0)
    holey = rng.choice(np.setdiff1d(labels, missing), size=10, replace=False)
    n_holes = 0
    for lab in holey:
        for _ in range(int(rng.integers(1, 3))):
            radius = int(rng.integers(2, 5))
            candidates = np.argwhere((annotation == lab) & (depth >= radius + 5))
            if len(candidates) == 0:
                continue
            r, c = candidates[rng.integers(len(candidates))]
            _stamp(annotation, (int(r), int(c)), radius, 0)
            n_holes += 1

    # Specks: small blobs in the background, at least 6 px from any coin.
    far = ndi.distance_transform_edt(truth == 0) >= 6
    candidates = np.argwhere(far)
    kept_labels = np.setdiff1d(labels, missing)
    n_specks = 30
    picks = candidates[rng.choice(len(candidates), size=n_specks, replace=False)]
    for r, c in picks:
        radius = int(rng.integers(0, 3))
        _stamp(annotation, (int(r), int(c)), radius, int(rng.choice(kept_labels)))

    info = {
        "missing_labels": [int(v) for v in missing],
        "n_holes": n_holes,
        "n_specks": n_specks,
    }
    return annotation, info


@functools.lru_cache(maxsize=1)
def _coins_cached() -> dict[str, Any]:
    from skimage import data

    image = np.ascontiguousarray(data.coins(), dtype=np.uint8)
    truth = _coins_truth(image)
    rng = np.random.default_rng(SEED)
    annotation, info = _corrupt_annotation(truth, rng)
    metadata = {
        "name": "coins",
        "source": "skimage.data.coins(): Greek coins from Pompeii "
        "(Brooklyn Museum collection, no known copyright restrictions)",
        "n_objects": int(truth.max()),
        "seed": SEED,
        **info,
    }
    return _frozen(
        {
            "image": image,
            "truth": truth,
            "annotation": annotation,
            "scale": (1.0, 1.0),
            "metadata": metadata,
        }
    )


def coins_sample() -> dict[str, Any]:
    """Coins photo with a clean ground truth and a corrupted annotation.

    Returns
    -------
    sample : dict
        ``"image"``: (303, 384) uint8, ``skimage.data.coins()``.
        ``"truth"``: (303, 384) int32 label image, one label per coin
        (24 coins, numbered in raster order of their first pixel), 0 = background.
        ``"annotation"``: (303, 384) int32, a sloppy copy of ``truth``: three
        coins missing, ragged edges, holes inside ten coins and 30 background
        specks painted with existing labels. Same label ids as ``truth``.
        ``"scale"``: ``(1.0, 1.0)``.
        ``"metadata"``: dict with ``"n_objects"``, ``"missing_labels"``,
        ``"n_holes"``, ``"n_specks"``, ``"seed"``, ``"source"``.

    Examples
    --------
    >>> from napari_maskclean.samples import coins_sample
    >>> sample = coins_sample()
    >>> sample["image"].shape, int(sample["truth"].max())
    ((303, 384), 24)
    """
    return _fresh(_coins_cached())


# ----------------------------------------------------------------------------
# blobs 3D
# ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _blobs3d_cached(shape: tuple[int, int, int]) -> dict[str, Any]:
    rng = np.random.default_rng(SEED + 1)
    scale = (2.0, 1.0, 1.0)  # z step is twice the in-plane pixel size
    zyx = np.asarray(shape, dtype=float)
    extent = zyx * np.asarray(scale)  # physical size
    n_target = max(1, round(40 * float(np.prod(zyx)) / (64 * 128 * 128)))
    max_radius = max(2.0, min(12.0, float(extent.min()) / 4))

    centers: list[NDArray[np.float64]] = []
    radii: list[NDArray[np.float64]] = []
    for _ in range(200 * n_target):
        if len(centers) == n_target:
            break
        radius = rng.uniform(0.5, 1.0) * max_radius * rng.uniform(0.75, 1.0, size=3)
        center = rng.uniform(radius, extent - radius)
        # Keep blobs apart: bounding spheres at least 2 physical units apart.
        if all(
            np.linalg.norm(center - c) >= radius.max() + r.max() + 2.0
            for c, r in zip(centers, radii, strict=True)
        ):
            centers.append(center)
            radii.append(radius)

    truth = np.zeros(shape, dtype=np.int32)
    signal = np.full(shape, 30.0, dtype=np.float32)
    sc = np.asarray(scale)
    for label, (center, radius) in enumerate(zip(centers, radii, strict=True), 1):
        lo = np.maximum(np.floor((center - radius) / sc).astype(int), 0)
        hi = np.minimum(np.ceil((center + radius) / sc).astype(int) + 1, shape)
        grids = np.ogrid[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        dist = sum(
            ((g * s - c) / r) ** 2 for g, s, c, r in zip(grids, sc, center, radius, strict=True)
        )
        inside = dist <= 1.0
        box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
        truth[box][inside] = label
        signal[box][inside] = rng.uniform(110.0, 200.0)

    blurred = ndi.gaussian_filter(signal, sigma=(0.6, 1.2, 1.2))
    noisy = blurred + rng.normal(0.0, 14.0, size=shape).astype(np.float32)
    image = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    metadata = {
        "name": "blobs3d",
        "n_objects": len(centers),
        "axes": "ZYX",
        "seed": SEED + 1,
    }
    return _frozen({"image": image, "truth": truth, "scale": scale, "metadata": metadata})


def blobs3d_sample(shape: tuple[int, int, int] = (64, 128, 128)) -> dict[str, Any]:
    """Noisy 3D volume of ellipsoidal blobs with their ground-truth labels.

    The z step is twice the in-plane pixel size (``scale=(2, 1, 1)``), so the
    blobs look round when displayed with that scale.

    Parameters
    ----------
    shape : tuple of 3 int, optional
        Volume shape (z, y, x), each at least 8. About 40 blobs per
        64 x 128 x 128 voxels.

    Returns
    -------
    sample : dict
        ``"image"``: uint8 volume (blobs of varying brightness, blurred, plus
        Gaussian noise). ``"truth"``: int32 labels 1..n, 0 = background, blobs
        do not touch. ``"scale"``: ``(2.0, 1.0, 1.0)``. ``"metadata"``:
        ``{"n_objects": n, "axes": "ZYX", ...}``.

    Raises
    ------
    ValueError
        If ``shape`` is not three integers >= 8.

    Examples
    --------
    >>> from napari_maskclean.samples import blobs3d_sample
    >>> sample = blobs3d_sample((32, 64, 64))
    >>> sample["image"].shape, sample["image"].dtype
    ((32, 64, 64), dtype('uint8'))
    """
    try:
        dims = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(
            f"shape must be a sequence of three integers, e.g. (64, 128, 128), got {shape!r}"
        ) from None
    if len(dims) != 3 or min(dims) < 8 or any(d != s for d, s in zip(dims, shape, strict=True)):
        raise ValueError(
            f"shape must be three integers >= 8 (z, y, x), e.g. (64, 128, 128), got {shape!r}"
        )
    return _fresh(_blobs3d_cached(dims))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------
# large
# ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _large_cached(size: int) -> dict[str, Any]:
    from skimage.segmentation import relabel_sequential

    coins = _coins_cached()
    # Upscale 2x so coins are about as big as cells in a 2048^2 tile.
    image = cv2.resize(
        np.asarray(coins["image"]),
        None,
        fx=2,
        fy=2,
        interpolation=cv2.INTER_LINEAR,
    )
    annotation = np.asarray(coins["annotation"]).repeat(2, 0).repeat(2, 1)
    truth = np.asarray(coins["truth"]).repeat(2, 0).repeat(2, 1)
    th, tw = image.shape
    ny, nx = -(-size // th), -(-size // tw)
    stride = int(max(annotation.max(), truth.max())) + 1

    big_image = np.empty((ny * th, nx * tw), dtype=np.uint8)
    big_ann = np.zeros((ny * th, nx * tw), dtype=np.int32)
    big_truth = np.zeros((ny * th, nx * tw), dtype=np.int32)
    for i in range(ny):
        for j in range(nx):
            # Mirror alternate tiles so the background shading is continuous.
            flip = (slice(None, None, -1 if i % 2 else 1), slice(None, None, -1 if j % 2 else 1))
            box = (slice(i * th, (i + 1) * th), slice(j * tw, (j + 1) * tw))
            offset = (i * nx + j) * stride
            big_image[box] = image[flip]
            big_ann[box] = np.where(annotation[flip] > 0, annotation[flip] + offset, 0)
            big_truth[box] = np.where(truth[flip] > 0, truth[flip] + offset, 0)

    crop = (slice(0, size), slice(0, size))
    rng = np.random.default_rng(SEED + 2)
    noise = rng.integers(-12, 13, size=(size, size), dtype=np.int16)
    image_out = np.clip(big_image[crop].astype(np.int16) + noise, 0, 255).astype(np.uint8)
    ann_out = relabel_sequential(np.ascontiguousarray(big_ann[crop]))[0].astype(np.int32)
    truth_out = relabel_sequential(np.ascontiguousarray(big_truth[crop]))[0].astype(np.int32)
    metadata = {
        "name": "large",
        "n_objects": int(truth_out.max()),
        "n_annotated": int(ann_out.max()),
        "seed": SEED + 2,
    }
    return _frozen(
        {
            "image": image_out,
            "annotation": ann_out,
            "truth": truth_out,
            "scale": (1.0, 1.0),
            "metadata": metadata,
        }
    )


def large_sample(size: int = 2048) -> dict[str, Any]:
    """Large 2D image and annotation for trying speed.

    The coins sample upscaled 2x, tiled (alternate tiles mirrored) and
    cropped to ``size x size``, with uniform noise added to the image. At the
    default size the annotation has about 200 objects.

    Parameters
    ----------
    size : int, optional
        Side length in pixels, at least 64.

    Returns
    -------
    sample : dict
        ``"image"``: (size, size) uint8. ``"annotation"``: (size, size) int32,
        the tiled corrupted coins annotation, labels relabelled 1..n.
        ``"truth"``: the tiled clean labels, relabelled 1..m.
        ``"scale"``: ``(1.0, 1.0)``. ``"metadata"``: ``{"n_objects": m,
        "n_annotated": n, ...}``.

    Raises
    ------
    ValueError
        If ``size`` is not an integer >= 64.

    Examples
    --------
    >>> from napari_maskclean.samples import large_sample
    >>> sample = large_sample(256)
    >>> sample["image"].shape
    (256, 256)
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise TypeError(f"size must be an integer such as 2048, got {size!r}")
    if size < 64:
        raise ValueError(f"size must be at least 64 pixels, got {size}")
    return _fresh(_large_cached(int(size)))


# ----------------------------------------------------------------------------
# RGB colour-coded mask
# ----------------------------------------------------------------------------


def _rgb_scene(shape: tuple[int, int], rng: np.random.Generator) -> NDArray[np.uint8]:
    """Draw a class-label scene (values 0..5) without anti-aliasing."""
    h, w = shape
    labels = np.zeros(shape, dtype=np.uint8)
    line = cv2.LINE_8  # no anti-aliasing: every pixel gets exactly one class

    # 1 tissue: a big irregular polygon.
    angles = np.sort(rng.uniform(0, 2 * np.pi, size=11))
    rad = rng.uniform(0.30, 0.42, size=11) * min(h, w)
    poly = np.stack(
        [w * 0.42 + rad * 1.25 * np.cos(angles), h * 0.5 + rad * np.sin(angles)], axis=1
    )
    cv2.fillPoly(labels, [np.round(poly).astype(np.int32)], 1, lineType=line)

    # 3 vessel: a thick polyline crossing the tissue.
    xs = np.linspace(0.05 * w, 0.95 * w, 6)
    ys = h * 0.5 + rng.uniform(-0.25, 0.25, size=6) * h
    pts = np.round(np.stack([xs, ys], axis=1)).astype(np.int32)
    cv2.polylines(labels, [pts], False, 3, thickness=max(3, h // 25), lineType=line)

    # 2 nuclei: ellipses, mostly inside the tissue (some touch the vessel).
    for _ in range(14):
        cx, cy = rng.uniform(0.15, 0.7) * w, rng.uniform(0.2, 0.8) * h
        axes = (int(rng.integers(6, 14)), int(rng.integers(5, 10)))
        cv2.ellipse(
            labels,
            (round(cx), round(cy)),
            axes,
            float(rng.uniform(0, 180)),
            0,
            360,
            2,
            thickness=-1,
            lineType=line,
        )

    # 4 debris: rectangles on the right.
    for _ in range(5):
        x0, y0 = int(rng.uniform(0.72, 0.92) * w), int(rng.uniform(0.05, 0.85) * h)
        x1, y1 = x0 + int(rng.integers(8, 22)), y0 + int(rng.integers(6, 18))
        cv2.rectangle(labels, (x0, y0), (min(x1, w - 2), min(y1, h - 2)), 4, -1, line)

    # 5 markers: small circles anywhere, drawn last (on top of everything).
    for _ in range(8):
        cx, cy = int(rng.uniform(0.05, 0.95) * w), int(rng.uniform(0.05, 0.95) * h)
        cv2.circle(labels, (cx, cy), int(rng.integers(3, 7)), 5, -1, line)
    return labels


@functools.lru_cache(maxsize=1)
def _rgb_cached() -> dict[str, Any]:
    from skimage.morphology import disk

    rng = np.random.default_rng(SEED + 3)
    shape = (240, 320)
    labels = _rgb_scene(shape, rng)
    palette = np.array(RGB_PALETTE)
    clean = palette[labels]

    # 1. Anti-aliased edges: blend colours on pixels that touch another class.
    k = np.ones((3, 3), np.uint8)
    edge = cv2.dilate(labels, k) != cv2.erode(labels, k)
    blurred = cv2.GaussianBlur(clean, (3, 3), 0.8)
    noisy = clean.copy()
    noisy[edge] = blurred[edge]

    # 2. JPEG artefacts in three patches (quality 70, encoded as BGR).
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(noisy, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 70]
    )
    if not ok:  # pragma: no cover - OpenCV always ships a JPEG encoder
        raise RuntimeError("OpenCV could not encode a JPEG")
    jpeg = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    patches = []
    for _ in range(3):
        r0 = int(rng.integers(0, shape[0] - 64))
        c0 = int(rng.integers(0, shape[1] - 64))
        noisy[r0 : r0 + 64, c0 : c0 + 64] = jpeg[r0 : r0 + 64, c0 : c0 + 64]
        patches.append([r0, c0, 64, 64])

    # 3. Off-palette speckles: isolated pixels of random colours.
    n_speckles = 150
    idx = rng.choice(labels.size, size=n_speckles, replace=False)
    noisy.reshape(-1, 3)[idx] = rng.integers(0, 256, size=(n_speckles, 3), dtype=np.uint8)

    # 4. Black holes (label 0) inside coloured regions.
    deep = cv2.erode((labels > 0).astype(np.uint8), disk(5).astype(np.uint8)) > 0
    candidates = np.argwhere(deep)
    n_holes = 12
    for r, c in candidates[rng.choice(len(candidates), size=n_holes, replace=False)]:
        _stamp(noisy, (int(r), int(c)), int(rng.integers(1, 4)), 0)

    metadata = {
        "name": "rgb_mask",
        "class_names": list(RGB_CLASS_NAMES),
        "jpeg_patches": patches,
        "n_speckles": n_speckles,
        "n_holes": n_holes,
        "seed": SEED + 3,
    }
    return _frozen(
        {
            "clean": clean,
            "noisy": noisy,
            "labels": labels.astype(np.int32),
            "palette": palette,
            "scale": (1.0, 1.0),
            "metadata": metadata,
        }
    )


def rgb_mask_sample() -> dict[str, Any]:
    """Build a colour-coded RGB mask, clean and with typical export damage.

    Returns
    -------
    sample : dict
        ``"clean"``: (240, 320, 3) uint8, exactly the palette colours.
        ``"noisy"``: the same with blended colours along class boundaries (as
        from anti-aliased drawing or resampling), JPEG artefacts (quality 70)
        in three 64 x 64 patches, 150 off-palette speckle pixels and 12 black
        holes inside coloured regions.
        ``"labels"``: (240, 320) int32 class labels with
        ``palette[labels] == clean``.
        ``"palette"``: (6, 3) uint8, row ``k`` = colour of label ``k``,
        row 0 black (background); the palette contract of
        ``napari_maskclean.core.colors``.
        ``"scale"``: ``(1.0, 1.0)``. ``"metadata"``: class names and where
        the damage is.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.samples import rgb_mask_sample
    >>> sample = rgb_mask_sample()
    >>> bool((sample["palette"][sample["labels"]] == sample["clean"]).all())
    True
    """
    return _fresh(_rgb_cached())
