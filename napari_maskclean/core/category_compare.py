"""Compare instances by category: per-category pixel scores and object matching.

A COCO image numbers its *instances* (label ``v`` is one object) and gives each
one a category. Compared per category:

* pixels: every pixel takes the category of the instance(s) covering it
  (:func:`category_map`); the category maps are compared as multi-class label
  images (confusion matrix, per-category IoU / Dice) by a
  :class:`~napari_maskclean.core.review.LiveComparison`. Instances of one
  category may overlap (their union is the category's mask). Where instances
  of *different* categories overlap (detector outputs often do) no category
  map exists: each category is then scored on the union of its instances
  (:func:`category_pixel_scores`; a pixel may count for several categories)
  and the overlay and error list are of the union of all instances;
* objects: a truth and a predicted instance can be matched only when their
  categories are equal (:func:`match_by_category`): the pairs of different
  categories are dropped from the exact overlaps of
  :func:`~napari_maskclean.core.instance_compare.instance_overlaps` and the one
  matcher (:func:`~napari_maskclean.core.matching.match_objects_from_overlaps`)
  runs on the rest: once for all categories (the overall scores) and once per
  category (the same pairs, since no pair crosses categories).

A side may also be a plain *class map* (a label image whose values are
categories): its objects are the connected components of each class
(:func:`class_instances`), each of the category of its class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from skimage import measure

from .compare import class_scores
from .instance_compare import _as_depths, depth_instances, instance_centres, instance_overlaps
from .matching import ObjectMatch, match_objects_from_overlaps
from .review import LiveComparison, as_compared
from .windows import common_shape

__all__ = [
    "CategoryComparison",
    "category_map",
    "category_pixel_scores",
    "class_instances",
    "compare_categories",
    "match_by_category",
]


def _category_lookup(categories: Mapping[int, int], what: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted labels and their categories as arrays; refuse ids <= 0."""
    if not isinstance(categories, Mapping):
        raise TypeError(f"{what} categories must be a mapping {{label: category_id}}, got "
                        f"{type(categories).__name__}")
    labels = np.array(sorted(int(k) for k in categories), dtype=np.int64)
    cats = np.array([int(categories[k]) for k in sorted(categories, key=int)], dtype=np.int64)
    if labels.size and (labels.min() <= 0 or cats.min() <= 0):
        raise ValueError(f"{what} categories: labels and category ids must be positive (0 is "
                         "the background); renumber the categories from 1")
    return labels, cats


def _categories_of(values: np.ndarray, labels: np.ndarray, cats: np.ndarray,
                   default: int | None, what: str) -> np.ndarray:
    idx = np.minimum(np.searchsorted(labels, values), max(labels.size - 1, 0))
    known = (labels[idx] == values) if labels.size else np.zeros(values.shape, bool)
    if known.all():
        return cats[idx]
    if default is None:
        missing = np.unique(values[~known])[:5].tolist()
        raise ValueError(f"{what}: labels {missing} have no category; give every label a "
                         "category (or a default category for the others)")
    return np.where(known, cats[idx] if labels.size else 0, int(default))


def category_map(
    labels: npt.ArrayLike,
    categories: Mapping[int, int],
    *,
    default: int | None = None,
    what: str = "labels",
) -> np.ndarray:
    """The category of every pixel of instances given as a label image or by depth.

    Parameters
    ----------
    labels : (H, W) or (D, H, W) array_like of int
        Instance label image, or a stack of depth label images (label ``v``
        of every depth is one instance, see
        :func:`~napari_maskclean.core.instance_compare.depth_instances`).
    categories : mapping of int to int
        The category id (> 0) of each instance label.
    default : int, optional
        Category of labels missing from ``categories`` (None: refuse them).
    what : str
        How the instances are called in error messages.

    Returns
    -------
    (H, W) ndarray of int64
        0 where there is no instance, else the category of the instance(s) there.

    Raises
    ------
    ValueError
        If a label has no category (and no ``default``), or a pixel is covered
        by instances of different categories.

    Examples
    --------
    >>> category_map(np.array([[0, 1, 2, 3]]), {1: 7, 2: 7, 3: 5}).tolist()
    [[0, 7, 7, 5]]
    """
    stack = _as_depths(labels, what)
    if stack.dtype.kind not in "biu":
        raise TypeError(f"{what} must be integer instance labels, got dtype {stack.dtype}")
    if default is not None and int(default) <= 0:
        raise ValueError(f"default must be a positive category id, got {default!r}")
    out, clash, pair = _category_map(stack, _category_lookup(categories, what), default, what)
    if clash:
        raise ValueError(
            f"{what}: {clash} pixels are covered by instances of different categories "
            f"(e.g. {pair[0]} and {pair[1]}); a category map holds one category per pixel. "
            "Score each category on the union of its instances instead "
            "(category_pixel_scores, or compare_categories), or remove the overlaps first "
            "(e.g. NMS in the Instances dock)")
    return out


def _category_map(stack: np.ndarray, lookup: tuple[np.ndarray, np.ndarray],
                  default: int | None, what: str) -> tuple[np.ndarray, int, tuple[int, ...]]:
    """Category map (the first depth's category where they clash), clash count, a pair."""
    out = np.zeros(stack.shape[1:], np.int64)
    clashed = np.zeros(stack.shape[1:], bool)
    pair: tuple[int, ...] = (0, 0)
    for plane in stack:
        fg = plane != 0
        if not fg.any():
            continue
        c = _categories_of(plane[fg].astype(np.int64), *lookup, default, what)
        old = out[fg]
        clash = (old != 0) & (old != c)
        if clash.any():
            if not clashed.any():
                pair = tuple(sorted((int(old[clash][0]), int(c[clash][0]))))
            clashed[fg] |= clash
        out[fg] = np.where(old != 0, old, c)
    return out, int(np.count_nonzero(clashed)), pair


def class_instances(classes: npt.ArrayLike) -> tuple[np.ndarray, dict[int, int]]:
    """The objects of a class map: connected components of each class, and their classes.

    Parameters
    ----------
    classes : (H, W) array_like of int
        Label image whose values are classes (0 = background).

    Returns
    -------
    components : (H, W) ndarray of int32
        Every connected region of one class (full connectivity) numbered from 1,
        as :func:`skimage.measure.label` numbers them.
    categories : dict
        The class of each component.

    Examples
    --------
    >>> lab, cats = class_instances(np.array([[3, 3, 0, 3, 5]]))
    >>> lab.tolist(), cats
    ([[1, 1, 0, 2, 3]], {1: 3, 2: 3, 3: 5})
    """
    arr = np.asarray(classes)
    if arr.dtype.kind not in "biu":
        raise TypeError(f"classes must be an integer label image, got dtype {arr.dtype}")
    # skimage joins equal, non-zero neighbours only: one class's regions, raster order
    out = measure.label(arr, background=0, connectivity=arr.ndim).astype(np.int32, copy=False)
    n = int(out.max()) if out.size else 0
    cats = np.zeros(n + 1, np.int64)
    cats[out.reshape(-1)] = arr.reshape(-1)
    return out, {k: int(cats[k]) for k in range(1, n + 1)}


def match_by_category(
    overlaps: tuple[npt.ArrayLike, ...],
    truth_categories: Mapping[int, int],
    pred_categories: Mapping[int, int],
    *,
    iou_threshold: float = 0.5,
) -> tuple[ObjectMatch, dict[int, ObjectMatch]]:
    """One-to-one matching in which an object matches only an object of its category.

    Parameters
    ----------
    overlaps : tuple
        Truth ids, pred ids, their areas, overlapping pairs and intersections:
        the first seven arguments of
        :func:`~napari_maskclean.core.matching.match_objects_from_overlaps` (as
        :func:`~napari_maskclean.core.instance_compare.instance_overlaps` returns).
    truth_categories, pred_categories : mapping of int to int
        The category of every truth / predicted id.
    iou_threshold : float, default 0.5
        As in :func:`~napari_maskclean.core.matching.match_objects`.

    Returns
    -------
    overall : ObjectMatch
        All objects; pairs of different categories never match.
    per_category : dict of int to ObjectMatch
        The same matching restricted to each category present in either side
        (its counts and scores are the category's own).

    Examples
    --------
    >>> ov = ([1, 2], [7, 9], [4, 4], [4, 4], [1, 2], [7, 9], [4, 4])
    >>> overall, per = match_by_category(ov, {1: 1, 2: 2}, {7: 1, 9: 1})
    >>> overall.matches, per[2].unmatched_truth, per[1].f1
    ([(1, 7, 1.0)], [2], 0.6666666666666666)
    """
    tid, pid, at, ap, pt, pp, inter = (np.asarray(a, dtype=np.int64).reshape(-1)
                                       for a in overlaps)
    tl, tc = _category_lookup(truth_categories, "truth")
    pl, pc = _category_lookup(pred_categories, "prediction")
    ct = _categories_of(tid, tl, tc, None, "truth")
    cp = _categories_of(pid, pl, pc, None, "prediction")
    # the category of each pair's two sides (ids are sorted: searchsorted finds them)
    same = ct[np.searchsorted(tid, pt)] == cp[np.searchsorted(pid, pp)]
    pt, pp, inter = pt[same], pp[same], inter[same]
    overall = match_objects_from_overlaps(tid, pid, at, ap, pt, pp, inter,
                                          iou_threshold=iou_threshold)
    pair_cat = ct[np.searchsorted(tid, pt)]
    per: dict[int, ObjectMatch] = {}
    for c in np.union1d(ct, cp).tolist():
        kt, kp, kq = ct == c, cp == c, pair_cat == c
        per[int(c)] = match_objects_from_overlaps(
            tid[kt], pid[kp], at[kt], ap[kp], pt[kq], pp[kq], inter[kq],
            iou_threshold=iou_threshold)
    return overall, per


def _side_defaults(default: Any) -> tuple[int | None, int | None]:
    """``default_category`` as ``(truth, prediction)``."""
    if isinstance(default, (tuple, list)):
        if len(default) != 2:
            raise ValueError("default_category must be one category id or a (truth, "
                             f"prediction) pair, got {default!r}")
        return default[0], default[1]
    return default, default


def _side(a: npt.ArrayLike, categories: Mapping[int, int] | None, method: str | None,
          default: int | None, what: str):
    """(instance stack, {instance: category}, class map or None) of one side."""
    arr = np.asarray(a)
    if categories is None:  # a class map (or an image thresholded to class 1)
        if arr.ndim != 2:
            raise ValueError(f"the {what} has shape {arr.shape}: a class map must be 2D; "
                             "pass the categories of its instances for a stack of depths")
        classes = as_compared(arr, method=method, what=what)
        if classes.dtype.kind not in "biu":
            raise TypeError(f"the {what} must be an integer class map, got dtype "
                            f"{classes.dtype}; threshold it or convert it to labels")
        comps, cats = class_instances(classes)
        return comps[None], cats, classes.astype(np.int64, copy=False)
    if method is not None:
        raise ValueError(f"the {what} holds instances with categories: it cannot be "
                         "thresholded")
    stack = _as_depths(arr, what)
    if stack.dtype.kind not in "biu":
        raise TypeError(f"the {what} must be integer instance labels, got dtype {stack.dtype}")
    if stack.size and stack.min() < 0:
        raise ValueError(f"the {what} has negative instance labels: instances are numbered "
                         "from 1 (0 is background); renumber them, e.g. with "
                         "skimage.segmentation.relabel_sequential")
    if default is not None and int(default) <= 0:
        raise ValueError(f"default_category must be a positive category id, got {default!r}")
    ids = np.unique(stack[stack != 0]).astype(np.int64)
    cats = _categories_of(ids, *_category_lookup(categories, what), default, f"the {what}")
    return stack, dict(zip(ids.tolist(), cats.tolist(), strict=True)), None


def _category_mask(stack: np.ndarray, cats: Mapping[int, int], c: int) -> np.ndarray:
    """Union of the instances of category ``c`` (a (H, W) bool mask)."""
    ids = [k for k, v in cats.items() if v == c]
    if not ids:
        return np.zeros(stack.shape[1:], bool)
    return np.isin(stack, ids).any(axis=0)


def _category_index_stack(stack: np.ndarray, cats: Mapping[int, int],
                          order: list[int]) -> np.ndarray:
    """Each depth's pixels as 1 + the index of their category in ``order`` (0: none)."""
    dtype = np.uint8 if len(order) < 255 else np.int32
    where = {c: i for i, c in enumerate(order, start=1)}
    keys = np.array(sorted(cats), np.int64)
    vals = np.array([where[cats[k]] for k in keys.tolist()], dtype)
    top = int(stack.max(initial=0))
    if top < 1 << 22:  # a lookup table (labels are >= 0, checked by _side)
        lut = np.zeros(top + 1, dtype)
        lut[keys] = vals
        return lut[stack]
    # huge label values: search instead of a table of their size
    idx = np.minimum(np.searchsorted(keys, stack), max(len(keys) - 1, 0))
    hit = keys[idx] == stack if len(keys) else np.zeros(stack.shape, bool)
    return np.where(hit, vals[idx] if len(keys) else 0, 0).astype(dtype)


def _union_scores(tstack, tcats, pstack, pcats) -> dict[str, Any]:
    """Per-category scores on each category's union of instances (background: no instance)."""
    order = sorted(set(tcats.values()) | set(pcats.values()))
    # one lookup per side, then one comparison per category (np.isin per category
    # was 25 ms a category on 2048² x 5 depths)
    ti, pi = _category_index_stack(tstack, tcats, order), _category_index_stack(
        pstack, pcats, order)
    t_bg, p_bg = ~(ti != 0).any(axis=0), ~(pi != 0).any(axis=0)
    sides = [(0, t_bg, p_bg)] if (t_bg.any() or p_bg.any()) else []
    sides += [(c, (ti == i).any(axis=0), (pi == i).any(axis=0))
              for i, c in enumerate(order, start=1)]
    out = class_scores([np.count_nonzero(t & p) for _, t, p in sides],
                       [np.count_nonzero(t) for _, t, _ in sides],
                       [np.count_nonzero(p) for _, _, p in sides])
    out["labels"] = np.array([c for c, _, _ in sides], dtype=np.int64)
    return out


def category_pixel_scores(
    truth: npt.ArrayLike,
    pred: npt.ArrayLike,
    *,
    truth_categories: Mapping[int, int] | None = None,
    pred_categories: Mapping[int, int] | None = None,
    default_category: int | None = None,
) -> dict[str, Any]:
    """Per-category pixel scores, each category on the union of its instances.

    Defined even where instances of different categories overlap (a pixel
    then belongs to each of their categories); where none do, equal to
    :func:`~napari_maskclean.core.compare.per_class_metrics` of the
    confusion matrix of the two :func:`category_map` s. The background (0)
    is the pixels without any instance. Arguments as :func:`compare_categories`.

    Returns
    -------
    dict
        ``labels`` (0 first when there is background, then the category ids),
        ``iou``, ``dice``, ``precision``, ``recall``, ``support``, ``mean_iou``
        and ``mean_dice``, as :func:`~napari_maskclean.core.compare.class_scores`.

    Examples
    --------
    >>> t = np.array([[[1, 1, 0]], [[0, 2, 2]]])          # two depths: 1 and 2 overlap
    >>> s = category_pixel_scores(t, np.array([[1, 1, 2]]), truth_categories={1: 1, 2: 2})
    >>> s["labels"].tolist(), s["iou"].tolist()
    ([1, 2], [1.0, 0.5])
    """
    t_default, p_default = _side_defaults(default_category)
    tstack, tcats, _ = _side(truth, truth_categories, None, t_default, "ground truth")
    pstack, pcats, _ = _side(pred, pred_categories, None, p_default, "prediction")
    if tstack.shape[1:] != pstack.shape[1:]:
        common_shape(tstack.shape[1:], pstack.shape[1:], names=("ground truth", "prediction"))
    return _union_scores(tstack, tcats, pstack, pcats)


class CategoryComparison(LiveComparison):
    """A :class:`~napari_maskclean.core.review.LiveComparison` by category.

    When instances of different categories overlap, no category map exists:
    the comparison is then of the union of all instances ("any foreground"),
    and :attr:`category_scores` holds the per-category scores, each category
    on the union of its instances (:func:`category_pixel_scores`).

    Attributes
    ----------
    category_scores : dict or None
        Per-category scores (None when the comparison is multi-class: then
        :meth:`per_class` is of the confusion matrix of the category maps).
    several_categories : dict
        Pixels covered by instances of different categories, per side.
    """

    category_scores: dict[str, Any] | None = None
    several_categories: dict[str, int] = {}  # noqa: RUF012 - replaced, never mutated

    def per_class(self) -> dict[str, Any]:
        """Per-category scores (see :attr:`category_scores`)."""
        if self.category_scores is not None:
            return dict(self.category_scores)
        return super().per_class()

    def report(self) -> dict[str, Any]:
        """As :meth:`LiveComparison.report`, plus the per-category scores of overlaps."""
        out = super().report()
        if self.category_scores is not None:
            sc = self.category_scores
            out["per_class"] = {
                str(int(lab)): {k: float(sc[k][i]) for k in ("iou", "dice", "precision",
                                                             "recall")}
                | {"support": int(sc["support"][i])}
                for i, lab in enumerate(sc["labels"])}
            out["mean_iou"], out["mean_dice"] = sc["mean_iou"], sc["mean_dice"]
            out["per_class_on"] = "each category's union of instances (they overlap)"
            out["pixels_in_several_categories"] = dict(self.several_categories)
        return out


def compare_categories(
    truth: npt.ArrayLike,
    pred: npt.ArrayLike,
    *,
    truth_categories: Mapping[int, int] | None = None,
    pred_categories: Mapping[int, int] | None = None,
    default_category: int | None = None,
    truth_method: str | None = None,
    pred_method: str | None = None,
    positive: int | None = None,
    iou_threshold: float | None = None,
    min_size: int = 1,
) -> CategoryComparison:
    """Compare two segmentations category by category (pixels and, optionally, objects).

    Parameters
    ----------
    truth, pred : (H, W) or (D, H, W) array_like of int
        With ``*_categories``: instances, as a label image or a stack of
        depths (see :func:`category_map`). Without: a 2D class map whose
        values are the categories (its objects: the connected components of
        each class), or an image thresholded with ``*_method`` (class 1).
    truth_categories, pred_categories : mapping of int to int, optional
        The category id of each instance label of that side.
    default_category : int or (int, int), optional
        Category of instance labels missing from their mapping (e.g. painted
        by hand), for both sides or as ``(truth, prediction)`` (two files may
        number their categories differently); None: refuse them.
    truth_method, pred_method : str, optional
        Threshold a class-map side first (see
        :func:`~napari_maskclean.core.review.compare`).
    positive : int, optional
        Compare only this category against the rest (pixels and objects);
        None: all categories (multi-class: confusion matrix, per-category scores).
    iou_threshold : float, optional
        Also match the objects, only within their category
        (:func:`match_by_category`, exact IoUs of the instances' masks).
    min_size : int, default 1
        Smallest error component listed.

    Returns
    -------
    CategoryComparison
        Multi-class: of the two category maps (confusion matrix, per-category
        scores); with ``positive``: of that category's union of instances
        against the rest. When instances of different categories overlap
        (there is no category map) and ``positive`` is None: of the union of
        all instances ("any foreground"), with the per-category scores, each
        category on the union of its instances, in
        :attr:`CategoryComparison.category_scores` (and ``per_class()``). With
        ``iou_threshold`` its ``objects`` hold ``match`` (all categories),
        ``per_category`` ({category: ObjectMatch}) and the instance centroids.

    Examples
    --------
    >>> t = np.array([[1, 1, 0, 2, 2]]); p = np.array([[5, 5, 0, 6, 6]])
    >>> live = compare_categories(t, p, truth_categories={1: 1, 2: 2},
    ...                           pred_categories={5: 1, 6: 1}, iou_threshold=0.5)
    >>> live.confusion_matrix()[0].tolist()
    [[1, 0, 0], [0, 2, 0], [0, 2, 0]]
    >>> live.objects["match"].matches, live.objects["per_category"][2].recall
    ([(1, 5, 1.0)], 0.0)
    """
    t_default, p_default = _side_defaults(default_category)
    tstack, tcats, tclasses = _side(truth, truth_categories, truth_method, t_default,
                                    "ground truth")
    pstack, pcats, pclasses = _side(pred, pred_categories, pred_method, p_default,
                                    "prediction")
    if tstack.shape[1:] != pstack.shape[1:]:
        common_shape(tstack.shape[1:], pstack.shape[1:], names=("ground truth", "prediction"))
    if positive is not None:  # one category against the rest: its union of instances
        p = int(positive)
        live = CategoryComparison(_category_mask(tstack, tcats, p).astype(np.int64) * p,
                                  _category_mask(pstack, pcats, p).astype(np.int64) * p,
                                  positive=p)
    else:
        maps, clashes = [], {}
        for what, stack, cats, classes in (("ground truth", tstack, tcats, tclasses),
                                           ("prediction", pstack, pcats, pclasses)):
            if classes is None:
                lookup = (np.array(sorted(cats), np.int64),
                          np.array([cats[k] for k in sorted(cats)], np.int64))
                classes, n, _ = _category_map(stack, lookup, None, what)
                clashes[what] = n
            maps.append(classes)
        if any(clashes.values()):  # no category map: the union, and scores per category
            live = CategoryComparison((tstack != 0).any(axis=0), (pstack != 0).any(axis=0))
            live.category_scores = _union_scores(tstack, tcats, pstack, pcats)
            live.several_categories = {k: v for k, v in clashes.items() if v}
        else:
            live = CategoryComparison(*maps, multiclass=True)
    live.errors(min_size=min_size)
    if iou_threshold is not None:
        if positive is not None:  # the objects of the chosen category only
            tcats = {k: c for k, c in tcats.items() if c == positive}
            pcats = {k: c for k, c in pcats.items() if c == positive}
            tstack = np.where(np.isin(tstack, list(tcats)), tstack, 0)
            pstack = np.where(np.isin(pstack, list(pcats)), pstack, 0)
        (rt, it), (rp, ip) = depth_instances(tstack), depth_instances(pstack)
        overlaps = instance_overlaps(rt, rp, truth_ids=it, pred_ids=ip)
        match, per = match_by_category(overlaps, tcats, pcats, iou_threshold=iou_threshold)
        live.objects = {
            "match": match,
            "per_category": per,
            "truth_centres": instance_centres(tstack),
            "pred_centres": instance_centres(pstack),
        }
    return live
