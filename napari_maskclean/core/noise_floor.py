"""The noise floor of a comparison: how the truth scores against noisy copies of itself.

A prediction that disagrees with the ground truth by less than careful
annotators disagree with each other cannot be told apart from a second
annotation. :func:`noise_floor` puts a number on that: the metrics of the
Compare dock (:func:`~napari_maskclean.core.compare.binary_metrics` and
:func:`~napari_maskclean.core.compare.per_class_metrics`) of the truth
against ``repeats`` label-noise copies of itself, mean and spread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .compare import binary_metrics, confusion_matrix, per_class_metrics
from .noise import Suppression
from .noise_copy import noisy_labels

__all__ = ["PER_CLASS_KEYS", "noise_floor"]

#: Per-class entries averaged by :func:`noise_floor` (arrays, one value per class).
PER_CLASS_KEYS: tuple[str, ...] = ("iou", "dice", "precision", "recall", "support")


def noise_floor(
    truth: NDArray[np.integer],
    *,
    alpha: float,
    sigma: float,
    repeats: int = 5,
    random_state: int = 0,
    positive: int | None = None,
    per_class: bool = True,
    area_threshold: int = 0,
    ignore_index: int | None = None,
    suppression: Suppression = "seed",
    instance_safe: bool = False,
    per_slice: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Metrics of the truth against noisy copies of itself, mean and spread over repeats.

    Each repeat deforms ``truth`` with
    :func:`~napari_maskclean.core.noise_copy.noisy_labels` (seed ``k`` of
    ``SeedSequence(random_state)``, so the result is reproducible) and scores
    the copy as the prediction.

    Parameters
    ----------
    truth : (M, N) or (P, M, N) ndarray of int or bool
        The ground truth.
    alpha, sigma : float
        The annotator noise level (see
        :func:`~napari_maskclean.core.noise_copy.displacement_rms`).
    repeats : int, optional
        Number of noisy copies (>= 1).
    random_state : int, optional
        Seed of the repeats' seeds.
    positive : int, optional
        As in :func:`~napari_maskclean.core.compare.binary_metrics`: ``None``
        compares any foreground, a value one class against the rest.
    per_class : bool, optional
        Also average :func:`~napari_maskclean.core.compare.per_class_metrics`
        over the truth's labels (the multi-class view).
    area_threshold, ignore_index, suppression, instance_safe, per_slice
        As in :func:`~napari_maskclean.core.noise_copy.noisy_labels`;
        ``ignore_index`` pixels are also left out of the per-class scores.
        ``area_threshold`` defaults to 0 here (no suppression): annotators
        disagree on specks too, and every suppressed speck freezes a box of
        ``alpha / 2`` around it, so a speckled truth would score a perfect floor.
    progress : callable, optional
        ``progress(done, total)`` after each repeat.

    Returns
    -------
    dict
        The keys of :func:`~napari_maskclean.core.compare.binary_metrics`
        (``tp`` ... ``balanced_accuracy``; counts are means, so floats) holding
        the mean over the repeats; ``"std"``: the same keys with the population
        standard deviation; with ``per_class``, ``"per_class"``: ``labels``
        (list of int), ``iou``, ``dice``, ``precision``, ``recall``,
        ``support`` (lists, one value per label, means), ``mean_iou``,
        ``mean_dice``, and ``"per_class_std"`` likewise; and the settings
        ``alpha``, ``sigma``, ``repeats``, ``random_state``.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((64, 64), np.uint8); truth[16:48, 16:48] = 1
    >>> floor = noise_floor(truth, alpha=30, sigma=6, repeats=3)
    >>> 0.9 < floor["f1"] < 1.0, floor["std"]["f1"] >= 0
    (True, True)
    """
    a = np.asarray(truth)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats!r}")
    seeds = np.random.SeedSequence(random_state).generate_state(repeats).tolist()
    labels = np.unique(a)
    if ignore_index is not None:
        labels = labels[labels != ignore_index]
    runs: list[dict[str, Any]] = []
    classes: list[dict[str, Any]] = []
    for k, seed in enumerate(seeds):
        noisy = noisy_labels(a, alpha=alpha, sigma=sigma, area_threshold=area_threshold,
                             ignore_index=ignore_index, suppression=suppression,
                             instance_safe=instance_safe, random_state=int(seed),
                             seed_per_image=False, per_slice=per_slice)
        runs.append(binary_metrics(a, noisy, positive=positive))
        if per_class:
            cm = confusion_matrix(a, noisy, labels=labels.tolist(), ignore_index=ignore_index)
            classes.append(per_class_metrics(cm))
        if progress is not None:
            progress(k + 1, repeats)
    out: dict[str, Any] = {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
    out["std"] = {key: float(np.std([r[key] for r in runs])) for key in runs[0]}
    if per_class:
        mean: dict[str, Any] = {"labels": [int(v) for v in labels]}
        std: dict[str, Any] = {"labels": list(mean["labels"])}
        for key in (*PER_CLASS_KEYS, "mean_iou", "mean_dice"):
            values = np.array([c[key] for c in classes], dtype=float)
            m, s = values.mean(axis=0), values.std(axis=0)
            mean[key] = m.tolist() if m.ndim else float(m)
            std[key] = s.tolist() if s.ndim else float(s)
        out["per_class"], out["per_class_std"] = mean, std
    out.update(alpha=float(alpha), sigma=float(sigma), repeats=int(repeats),
               random_state=int(random_state))
    return out
