"""npe2 reader and writer for COCO JSON instance annotations and detector results.

Reading (:func:`get_coco_reader`): a ``.json`` file is claimed only when it is
COCO (a dataset with ``images`` and ``annotations``, or a detector results
list of ``{"image_id", "segmentation", ...}``); anything else gives ``None``.
Each image opens as Labels layers whose labels are its instances, numbered
``1..N`` in the file's order:

* one Labels layer when no two instances overlap;
* otherwise one Labels layer per overlapping *depth* (each instance in the
  first depth where it overlaps nothing, see
  :func:`napari_maskclean.core.instances.instances_to_labels` with
  ``overlap="layers"``); the layers are named ``"<image> instances [depth k]"``.

Every layer's ``features`` hold, per label, the category (name and id), the
score, ``iscrowd`` and the annotation id (napari shows them under the mouse);
``metadata["coco"]`` holds what the writer needs to write the file back
losslessly: the file as read (shared by all layers of the file), the image id
and each label's instance. Unknown image ids and categories are reported
with a napari warning and kept; empty masks are kept (a warning).

Writing (:func:`write_coco_layers`, several layers; :func:`write_coco_layer`,
one): the instances of the layers of one image are read back from the
labels. An instance whose mask did not change is written exactly as it was read
(its RLE string or its polygons, every other key); a changed one is written
as RLE with a new area and box; a deleted label is a deleted annotation; a new
label (painted by hand) becomes a new annotation of the first category; an
empty instance (no pixel to show) is kept as it was. The
other images of the file and annotations of unknown images are written back
unchanged. Labels layers without COCO metadata are written as images of their
own, with one category ``"object"``. Files are written atomically.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .core import rle as _rle
from .core.instances import instances_to_labels, labels_to_instances
from .io_coco import CocoData, CocoImage, read_coco, write_coco

__all__ = [
    "coco_layer_data",
    "get_coco_reader",
    "is_coco_file",
    "layers_to_coco",
    "write_coco_layer",
    "write_coco_layers",
]

LayerDataTuple = tuple[Any, dict[str, Any], str]
_SNIFF_BYTES = 1 << 16
#: Images opened at once from a dataset file; the Instances dock opens the others.
MAX_IMAGES_OPENED = 1


def is_coco_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` looks like COCO JSON (cheap: the start of the file only)."""
    p = Path(os.fspath(path))
    if p.suffix.lower() != ".json" or not p.is_file():
        return False
    try:
        with open(p, encoding="utf-8", errors="replace") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return False
    start = head.lstrip()[:1]
    if start == "{":
        return '"images"' in head and ('"annotations"' in head or '"categories"' in head)
    if start == "[":
        return '"image_id"' in head and '"segmentation"' in head
    return False


def get_coco_reader(path: str | list[str]) -> Callable[[str], list[LayerDataTuple]] | None:
    """npe2 reader hook: a reader for one COCO ``.json`` file, else None (never raises)."""
    if isinstance(path, list | tuple):
        if len(path) != 1:
            return None
        path = path[0]
    try:
        return read_coco_layers if is_coco_file(path) else None
    except Exception:  # noqa: BLE001 - a reader hook must not raise for foreign paths
        return None


def _notify(message: str) -> None:
    try:
        from napari.utils.notifications import show_warning
    except ImportError:  # headless use
        warnings.warn(message, stacklevel=3)
        return
    show_warning(message)


def read_coco_layers(
    path: str | list[str], *, image: int | str | None = None
) -> list[LayerDataTuple]:
    """The layers of one image of a COCO file (the first with annotations by default).

    Problems that lose nothing (unknown image ids or categories, empty masks)
    are shown as one napari warning; malformed files raise ``ValueError``
    naming the annotation and the fix.
    """
    if isinstance(path, list | tuple):
        path = path[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = read_coco(path, unknown="keep")
    for w in caught:
        if issubclass(w.category, DeprecationWarning):  # from a library, not about the file
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        else:
            _notify(f"{Path(path).name}: {w.message}")
    if not data.images:
        raise ValueError(f"{Path(path).name} has no images")
    if image is None:
        im = next((i for i in data.images if i.rles), data.images[0])
        if len(data.images) > MAX_IMAGES_OPENED:
            _notify(
                f"{Path(path).name} has {len(data.images)} images; opened {im.file_name!r}. "
                "Open another one with the Instances dock ('image' of the COCO file)."
            )
    else:
        im = data.image(image)
    return coco_layer_data(data, im, source=str(path))


def _features(im: CocoImage, data: CocoData, labels: Sequence[int]) -> dict[str, list]:
    idx = [int(v) - 1 for v in labels]
    return {
        "index": [int(v) for v in labels],
        "category": [data.categories.get(im.category_ids[k], str(im.category_ids[k]))
                     for k in idx],
        "category_id": [im.category_ids[k] for k in idx],
        "score": [np.nan if im.scores[k] is None else float(im.scores[k]) for k in idx],
        "iscrowd": [bool(im.iscrowd[k]) for k in idx],
        "annotation_id": [-1 if im.ann_ids[k] is None else im.ann_ids[k] for k in idx],
    }


def coco_layer_data(data: CocoData, im: CocoImage, *, source: str = "") -> list[LayerDataTuple]:
    """Labels layer data of one image: one layer, or one per overlapping depth.

    Label ``k + 1`` is instance ``k`` of ``im``.
    """
    n = len(im.rles)
    ids = np.arange(1, n + 1)
    stack = instances_to_labels(
        im.rles if n else [], (im.height, im.width), ids=ids, overlap="layers"
    )
    name = Path(im.file_name).stem or f"image {im.id}"
    out = []
    for depth, arr in enumerate(stack):
        present = np.unique(arr)
        present = present[present > 0]
        meta = {
            "coco": {"data": data, "image_id": im.id, "file_name": im.file_name,
                     "depth": depth, "depths": len(stack), "source": source},
        }
        layer_name = f"{name} instances" + (f" [depth {depth}]" if len(stack) > 1 else "")
        out.append((arr, {"name": layer_name, "metadata": meta,
                          "features": _features(im, data, present)}, "labels"))
    return out


def _coco_meta(meta: dict[str, Any]) -> dict[str, Any] | None:
    coco = (meta.get("metadata") or {}).get("coco")
    return coco if isinstance(coco, dict) and isinstance(coco.get("data"), CocoData) else None


def _image_from_labels(
    im: CocoImage, data: CocoData, arrays: Sequence[np.ndarray], name: str
) -> CocoImage:
    """``im`` with its instances read back from label arrays (see the module docstring)."""
    masks: dict[int, dict[str, Any]] = {}
    for arr in arrays:
        arr = np.asarray(arr)
        if arr.shape != (im.height, im.width):
            raise ValueError(
                f"layer {name!r} has shape {arr.shape} but image {im.file_name!r} is "
                f"{im.height}x{im.width}; the COCO writer needs 2D layers of the image's size"
            )
        rles, labels = labels_to_instances(arr, as_rle=True)
        for rle, v in zip(rles, labels.tolist()):
            if v in masks:  # the same label in two depth layers: one instance
                both = _rle.rle_decode(masks[v]) | _rle.rle_decode(rle)
                rle = _rle.rle_encode(both)
            masks[v] = rle
    new = dataclasses.replace(
        im, rles=[], category_ids=[], scores=[], ann_ids=[], iscrowd=[], polygons=[], extra=[]
    )
    n = len(im.rles)
    default_cat = next(iter(data.categories), 1)
    added = 0
    # empty instances have no pixel in any layer: kept as they were (nothing to delete)
    empty = {k + 1 for k in range(n) if _rle.rle_area(im.rles[k]) == 0}
    for v in sorted(set(masks) | empty):
        rle = masks.get(v, im.rles[v - 1] if v in empty else None)
        k = v - 1
        if 0 <= k < n:
            same = rle["counts"] == _rle.rle_encode(_rle.rle_decode(im.rles[k]))["counts"]
            extra = dict(im.extra[k])
            if not same:
                extra.pop("area", None)
                extra.pop("bbox", None)
            new.rles.append(im.rles[k] if same else rle)
            new.polygons.append(im.polygons[k] if same else None)
            new.category_ids.append(im.category_ids[k])
            new.scores.append(im.scores[k])
            new.ann_ids.append(im.ann_ids[k])
            new.iscrowd.append(im.iscrowd[k])
            new.extra.append(extra)
        else:
            added += 1
            new.rles.append(rle)
            new.polygons.append(None)
            new.category_ids.append(default_cat)
            new.scores.append(None if data.is_results is False else 1.0)
            new.ann_ids.append(None)
            new.iscrowd.append(False)
            new.extra.append({})
    if added:
        warnings.warn(
            f"{added} label(s) of {name!r} are not instances of the COCO file (painted by "
            f"hand?): written as new annotations of category {default_cat}",
            stacklevel=3,
        )
    return new


def layers_to_coco(layers: Sequence[tuple[Any, dict[str, Any]]]) -> CocoData:
    """The COCO data of Labels layers given as ``(data, meta)`` (see the module docstring)."""
    if not layers:
        raise ValueError("no Labels layer to write")
    groups: dict[tuple[int, Any], list[tuple[Any, dict[str, Any]]]] = {}
    plain: list[tuple[Any, dict[str, Any]]] = []
    for data, meta in layers:
        coco = _coco_meta(meta)
        if coco is None:
            plain.append((data, meta))
        else:
            groups.setdefault((id(coco["data"]), coco["image_id"]), []).append((data, meta))
    sources = {id(_coco_meta(m)["data"]): _coco_meta(m)["data"] for _, m in
               (g[0] for g in groups.values())}
    if len(sources) > 1:
        raise ValueError(
            "the layers come from different COCO files; save the layers of each file "
            "separately"
        )
    if sources:
        base = next(iter(sources.values()))
        images = {im.id: im for im in base.images}
        for (_, image_id), members in groups.items():
            name = members[0][1].get("name", "")
            coco = _coco_meta(members[0][1])
            depths = sorted(_coco_meta(m)["depth"] for _, m in members)
            if depths != list(range(coco["depths"])):
                raise ValueError(
                    f"image {coco['file_name']!r} opened as {coco['depths']} depth layers "
                    f"but {len(members)} of them are selected: select all its depth layers "
                    "to save it (the instances of the others would be lost)"
                )
            images[image_id] = _image_from_labels(
                images[image_id], base, [d for d, _ in members], name
            )
        out = dataclasses.replace(
            base, images=[images[im.id] for im in base.images],
            unresolved=list(base.unresolved),
        )
    else:
        out = CocoData([], {1: "object"}, [{"id": 1, "name": "object"}])
    next_id = 1 + max((im.id for im in out.images), default=0)
    for data, meta in plain:
        arr = np.asarray(data)
        name = str(meta.get("name", "labels"))
        if arr.ndim != 2:
            raise ValueError(
                f"layer {name!r} has {arr.ndim} dimensions; COCO holds 2D images: save one "
                "2D slice (or the depth layers of one image)"
            )
        h, w = arr.shape
        im = CocoImage(next_id, name, h, w)
        next_id += 1
        if 1 not in out.categories:
            out.categories[1] = "object"
            out.category_info.append({"id": 1, "name": "object"})
        rles, labels = labels_to_instances(arr, as_rle=True)
        for rle, v in zip(rles, labels.tolist()):
            im.rles.append(rle)
            im.category_ids.append(1)
            im.scores.append(None)
            im.ann_ids.append(None)
            im.iscrowd.append(False)
            im.polygons.append(None)
            im.extra.append({"label": int(v)})
        out.images.append(im)
    return out


def write_coco_layers(path: str, layer_data: list[LayerDataTuple]) -> list[str]:
    """npe2 multi-layer writer: the Labels layers as one COCO JSON file (atomic, replaces)."""
    labels = [(d, m) for d, m, kind in layer_data if kind == "labels"]
    if not labels:
        raise ValueError("COCO JSON holds instance masks: select Labels layers to save")
    data = layers_to_coco(labels)
    return [str(write_coco(path, data, overwrite=True))]


def write_coco_layer(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """npe2 single-layer writer (see :func:`write_coco_layers`)."""
    return write_coco_layers(path, [(data, meta, "labels")])
