"""Read and write COCO instance annotations and detector results (napari-free).

A COCO file is read into :class:`CocoData`: its categories (ids and names),
and per image a :class:`CocoImage` holding every annotation's mask as a
validated compressed RLE, with its category id, score (detector results),
annotation id, ``iscrowd`` flag, the original polygons (when given as
polygons) and every other key, untouched. Writing it back is lossless for
RLE segmentations (the counts strings are kept verbatim) and for polygons
that were not changed; masks written as polygons (``segmentation='polygons'``
at ``tolerance=0``) are traced along their pixel edges and read back exactly,
by pycocotools too.

Bad input raises :class:`ValueError` naming the annotation and the fix:
unknown image ids or categories, malformed RLE, RLE of the wrong size,
polygons with fewer than 3 points or crossing themselves. Empty masks are
kept and reported with a warning.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from .core import rle as _rle
from .core.polygons import check_ring, mask_to_polygons, polygons_to_mask

__all__ = ["CocoData", "CocoImage", "coco_to_dict", "read_coco", "write_coco", "write_coco_to"]

PathLike = str | os.PathLike[str]
_ANN_KEYS = ("id", "image_id", "category_id", "segmentation", "score", "iscrowd")


@dataclass
class CocoImage:
    """The annotations of one image (parallel lists, one entry per instance)."""

    id: int
    file_name: str
    height: int
    width: int
    rles: list[dict[str, Any]] = field(default_factory=list)
    category_ids: list[int] = field(default_factory=list)
    scores: list[float | None] = field(default_factory=list)
    ann_ids: list[int | None] = field(default_factory=list)
    iscrowd: list[bool] = field(default_factory=list)
    polygons: list[list[list[float]] | None] = field(default_factory=list)
    extra: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def masks(self) -> NDArray[np.bool_]:
        """The instances as a dense ``(N, height, width)`` stack."""
        out = np.zeros((len(self.rles), self.height, self.width), bool)
        for k, r in enumerate(self.rles):
            out[k] = _rle.rle_decode(r)
        return out


@dataclass
class CocoData:
    """A COCO dataset or detector results, resolved per image."""

    images: list[CocoImage]
    categories: dict[int, str]
    category_info: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    is_results: bool = False
    #: Annotations whose image is unknown (read with ``unknown="keep"``): kept
    #: verbatim and written back after the others, so nothing is lost.
    unresolved: list[dict[str, Any]] = field(default_factory=list)

    def image(self, key: int | str) -> CocoImage:
        """The image with this id or file name."""
        for im in self.images:
            if im.id == key or im.file_name == key or Path(im.file_name).name == key:
                return im
        raise KeyError(f"no image with id or file name {key!r}")


def _load(source: Any) -> Any:
    if isinstance(source, dict | list):
        return source
    path = Path(os.fspath(source))
    if not path.is_file():
        raise FileNotFoundError(f"COCO file {str(path)!r} does not exist")
    with open(path, encoding="utf-8") as fh:
        try:
            return json.load(fh)
        except json.JSONDecodeError as e:
            raise ValueError(f"{str(path)!r} is not valid JSON: {e}") from None


def _segmentation(seg: Any, im: CocoImage, where: str) -> tuple[dict[str, Any], Any]:
    """Validated compressed RLE of a segmentation, and its polygons (or None)."""
    h, w = im.height, im.width
    if isinstance(seg, dict):
        try:
            hh, ww, cnts = _rle.rle_counts(seg)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: {e}") from None
        if (hh, ww) != (h, w):
            raise ValueError(
                f"{where}: RLE size {[hh, ww]} does not match image {im.file_name!r} ({h}x{w})"
            )
        counts = seg["counts"]
        if isinstance(counts, bytes):
            counts = counts.decode("ascii")
        if not isinstance(counts, str):  # uncompressed (iscrowd): compress, same mask
            return _rle.counts_to_rle(cnts, (h, w)), None
        return {"size": [h, w], "counts": counts}, None
    if isinstance(seg, list) and seg and all(isinstance(p, list) for p in seg):
        for k, ring in enumerate(seg):
            check_ring(ring, name=f"{where}: polygon {k}")
        mask = polygons_to_mask(seg, (h, w), validate=False)
        return _rle.rle_encode(mask), seg
    raise ValueError(
        f"{where}: 'segmentation' must be an RLE dict or a non-empty list of polygons "
        f"[[x0, y0, x1, y1, ...], ...], got {type(seg).__name__}"
    )


def _images_from_rles(anns: list[Any]) -> list[CocoImage]:
    """Images of a results list read without its dataset: ids and sizes from the RLEs."""
    sizes: dict[Any, tuple[int, int]] = {}
    for k, ann in enumerate(anns):
        seg = ann.get("segmentation") if isinstance(ann, dict) else None
        key = ann.get("image_id") if isinstance(ann, dict) else None
        if not isinstance(seg, dict) or "size" not in seg:
            raise ValueError(
                f"entry {k} of the results list is not an RLE (polygons carry no image "
                "size): pass images=<the COCO annotation file it was computed on>"
            )
        try:
            size = (int(seg["size"][0]), int(seg["size"][1]))
        except (TypeError, ValueError, IndexError, KeyError):
            raise ValueError(f"entry {k}: RLE 'size' must be [height, width]") from None
        if sizes.setdefault(key, size) != size:
            raise ValueError(
                f"results for image {key!r} have RLEs of two sizes {sizes[key]} and {size}"
            )
    return [
        # a string image_id is the file name; it is written back as it was (info["id"])
        CocoImage(key if isinstance(key, int) else -1 - k, str(key), h, w, info={"id": key})
        for k, (key, (h, w)) in enumerate(sizes.items())
    ]


def read_coco(
    source: Any, *, images: Any = None, unknown: Literal["error", "keep"] = "error"
) -> CocoData:
    """Read COCO annotations or detector results.

    Parameters
    ----------
    source : path, dict or list
        A COCO dataset (``{"images", "annotations", "categories"}``) or a
        detector results list (``[{"image_id", "category_id",
        "segmentation", "score"}, ...]``).
    images : path, dict or CocoData, optional
        For a results list: the dataset whose images (ids, file names, sizes)
        and categories the results refer to. A result's ``image_id`` may also
        be the image's file name (resolved to its id). Without it, a results
        list of RLEs is read with one image per ``image_id``, sized by its RLEs
        (no category names).
    unknown : {'error', 'keep'}
        ``'error'``: unknown image ids or categories raise. ``'keep'``: they
        are reported with a warning and nothing is lost: annotations of unknown
        images go to :attr:`CocoData.unresolved` (written back verbatim),
        instances of unknown categories are read with the name
        ``"unknown category <id>"``.

    Returns
    -------
    CocoData

    Raises
    ------
    ValueError
        Unknown image ids or categories (all listed), malformed segmentations.
    """
    if unknown not in ("error", "keep"):
        raise ValueError(f"unknown must be 'error' or 'keep', got {unknown!r}")
    data = _load(source)
    if isinstance(data, list):
        anns, is_results, extra_info = data, True, {}
        if images is None:
            cat_info: list[dict[str, Any]] = []
            image_list = _images_from_rles(anns)
        else:
            ref = images if isinstance(images, CocoData) else read_coco(images)
            cat_info = ref.category_info
            image_list = [
                CocoImage(im.id, im.file_name, im.height, im.width, info=dict(im.info))
                for im in ref.images
            ]
    elif isinstance(data, dict) and "images" in data:
        anns, is_results = data.get("annotations", []), False
        cat_info = data.get("categories", [])
        extra_info = {
            k: v for k, v in data.items() if k not in ("images", "annotations", "categories")
        }
        image_list = []
        for k, im in enumerate(data["images"]):
            try:
                image_list.append(
                    CocoImage(
                        int(im["id"]),
                        str(im.get("file_name", "")),
                        int(im["height"]),
                        int(im["width"]),
                        info=dict(im),
                    )
                )
            except (KeyError, TypeError, ValueError):
                raise ValueError(
                    f"images[{k}] needs integer 'id', 'height' and 'width', got {im!r}"
                ) from None
    else:
        raise ValueError("not a COCO file: expected a dict with 'images' or a results list")
    categories = {int(c["id"]): str(c.get("name", c["id"])) for c in cat_info}
    by_id = {im.id: im for im in image_list}
    by_name = {}
    for im in image_list:
        by_name.setdefault(im.file_name, im)
        by_name.setdefault(Path(im.file_name).name, im)
    unknown_images, unknown_cats = set(), set()
    unresolved: list[dict[str, Any]] = []
    for k, ann in enumerate(anns):
        where = f"annotation {ann.get('id', k)!r}" if isinstance(ann, dict) else f"entry {k}"
        if not isinstance(ann, dict) or "image_id" not in ann or "segmentation" not in ann:
            raise ValueError(f"{where} needs 'image_id' and 'segmentation'")
        key = ann["image_id"]
        im = by_name.get(key) if isinstance(key, str) else by_id.get(key)
        if im is None:
            unknown_images.add(key)
            unresolved.append(ann)
            continue
        cat = ann.get("category_id")
        if categories and cat not in categories:
            unknown_cats.add(cat)
            if unknown == "error":
                continue
        rle, polys = _segmentation(ann["segmentation"], im, where)
        if _rle.rle_area(rle) == 0:
            warnings.warn(
                f"{where} on image {im.file_name!r} has an empty mask (kept)", stacklevel=2
            )
        im.rles.append(rle)
        im.polygons.append(polys)
        im.category_ids.append(cat)
        im.scores.append(float(ann["score"]) if "score" in ann else None)
        im.ann_ids.append(ann.get("id"))
        im.iscrowd.append(bool(ann.get("iscrowd", 0)))
        im.extra.append({k: v for k, v in ann.items() if k not in _ANN_KEYS})
    problems = []
    if unknown_images:
        problems.append(
            f"{len(unresolved)} annotation(s) refer to {len(unknown_images)} unknown image "
            f"id(s) {sorted(map(str, unknown_images))[:10]}; known ids are "
            f"{sorted(map(str, by_id))[:10]}{'...' if len(by_id) > 10 else ''} (file names "
            "also work)"
        )
    if unknown_cats:
        problems.append(
            f"annotations use {len(unknown_cats)} unknown category id(s) "
            f"{sorted(map(str, unknown_cats))[:10]}; the categories are {categories}"
        )
    if problems and unknown == "error":
        raise ValueError("; ".join(problems) + " (read with unknown='keep' to keep them)")
    if problems:
        warnings.warn(
            "; ".join(problems) + ": kept (annotations of unknown images are written back "
            "unchanged)",
            stacklevel=2,
        )
        for cat in unknown_cats:
            categories[cat] = f"unknown category {cat}"
    return CocoData(
        image_list, categories, list(cat_info), extra_info, is_results, unresolved=unresolved
    )


def coco_to_dict(
    data: CocoData,
    *,
    segmentation: Literal["auto", "rle", "polygons"] = "auto",
    holes: Literal["rle", "polygons"] = "rle",
    tolerance: float = 0,
) -> dict[str, Any] | list[dict[str, Any]]:
    """The JSON structure of :class:`CocoData` (a dataset dict, or a results list).

    Parameters
    ----------
    data : CocoData
    segmentation : {'auto', 'rle', 'polygons'}
        ``'auto'`` keeps each annotation's form (its original polygons if it
        had some, else RLE); ``'rle'`` writes all as RLE; ``'polygons'``
        traces every mask along its pixel edges (see
        :func:`~napari_maskclean.core.polygons.mask_to_polygons`): exact, read
        back by pycocotools or by us, at ``tolerance=0``.
    holes : {'rle', 'polygons'}
        With ``segmentation='polygons'``, an object with holes (background
        it encloses, which COCO polygons cannot hold) is written as RLE, or
        as its outer polygons only with a warning.
    tolerance : float
        Polygon simplification in pixels (``cv2.approxPolyDP`` epsilon).
    """
    anns = []
    next_id = 1 + max((a for im in data.images for a in im.ann_ids if a is not None), default=0)
    for im in data.images:
        for k, rle in enumerate(im.rles):
            seg: Any = rle
            if segmentation == "auto" and im.polygons[k] is not None:
                seg = im.polygons[k]
            elif segmentation == "polygons":
                # exact outlines: a part touching itself at a corner stays one ring
                # (pycocotools fills it exactly), so only enclosed background is a
                # hole; simplified rings are cut there instead, as approxPolyDP
                # could make a ring through one point twice cross itself
                polys = mask_to_polygons(
                    _rle.rle_decode(rle), tolerance=tolerance, simple=tolerance > 0
                )
                if any(p.holes for p in polys) and holes == "polygons":
                    warnings.warn(
                        f"annotation {im.ann_ids[k]!r} on {im.file_name!r} has holes that COCO "
                        "polygons cannot hold: they are filled (pass holes='rle' to keep them)",
                        stacklevel=2,
                    )
                if polys and (holes == "polygons" or not any(p.holes for p in polys)):
                    seg = [p.exterior for p in polys]
            elif segmentation not in ("auto", "rle", "polygons"):
                raise ValueError(
                    f"segmentation must be 'auto', 'rle' or 'polygons', got {segmentation!r}"
                )
            ann: dict[str, Any] = {
                "image_id": im.info.get("id", im.id),
                "category_id": im.category_ids[k],
                "segmentation": seg,
            }
            if im.scores[k] is not None:
                ann["score"] = im.scores[k]
            if not data.is_results:
                ann_id = im.ann_ids[k]
                if ann_id is None:
                    ann_id, next_id = next_id, next_id + 1
                ann["id"] = ann_id
                ann["iscrowd"] = int(im.iscrowd[k])
                ann.setdefault("area", _rle.rle_area(rle))
                ann.setdefault("bbox", _rle.rle_to_bbox(rle).tolist())
            ann.update(im.extra[k])
            anns.append(ann)
    anns.extend(dict(a) for a in data.unresolved)
    if data.is_results:
        return anns
    return {
        **data.info,
        "images": [
            im.info
            or {"id": im.id, "file_name": im.file_name, "height": im.height, "width": im.width}
            for im in data.images
        ],
        "annotations": anns,
        "categories": data.category_info,
    }


def write_coco_to(path: PathLike, data: CocoData, **options: Any) -> None:
    """Write ``data`` as COCO JSON to ``path`` (no checks; see :func:`write_coco`)."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(coco_to_dict(data, **options), fh)


def write_coco(path: PathLike, data: CocoData, *, overwrite: bool = False, **options: Any) -> Path:
    """Write ``data`` as COCO JSON atomically (never a half-written file).

    Parameters
    ----------
    path : path
        The ``.json`` file.
    data : CocoData
    overwrite : bool
        Replace an existing file.
    **options
        ``segmentation``, ``holes``, ``tolerance`` of :func:`coco_to_dict`.

    Returns
    -------
    Path
    """
    payload = coco_to_dict(data, **options)  # bad options fail before touching the disk

    def write(tmp: PathLike) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(payload, fh)

    from . import io as _io

    atomic_write = getattr(_io, "atomic_write", None)
    if atomic_write is not None:
        atomic_write(path, write, overwrite=overwrite)
        return Path(os.fspath(path))
    # TODO: drop this fallback once io.atomic_write(path, write, *, overwrite) lands
    target = _io._target(path, overwrite=overwrite)
    _io._atomic_write(target, write)
    return target
