"""noise_floor: the truth against noisy copies of itself, with Compare's metric keys."""

from __future__ import annotations

import numpy as np
import pytest

from napari_maskclean.core.compare import binary_metrics, confusion_matrix, per_class_metrics
from napari_maskclean.core.noise_copy import noisy_labels
from napari_maskclean.core.noise_floor import PER_CLASS_KEYS, noise_floor


def _truth():
    t = np.zeros((128, 128), np.uint8)
    t[20:100, 30:90] = 1
    t[40:70, 40:70] = 2
    return t


def test_keys_are_comparees_and_values_are_the_mean_of_the_repeats():
    t = _truth()
    floor = noise_floor(t, alpha=150, sigma=6, repeats=3, random_state=1)
    seeds = np.random.SeedSequence(1).generate_state(3).tolist()
    runs = [binary_metrics(t, noisy_labels(t, alpha=150, sigma=6, area_threshold=0,
                                           random_state=s, seed_per_image=False))
            for s in seeds]
    assert set(runs[0]) <= set(floor) and set(floor["std"]) == set(runs[0])
    for key in runs[0]:
        assert floor[key] == pytest.approx(np.mean([r[key] for r in runs]))
        assert floor["std"][key] == pytest.approx(np.std([r[key] for r in runs]))
    assert floor["f1"] < 1 and floor["std"]["f1"] > 0
    pc = floor["per_class"]
    assert pc["labels"] == [0, 1, 2] and set(PER_CLASS_KEYS) <= set(pc)
    cms = [per_class_metrics(confusion_matrix(t, noisy_labels(
        t, alpha=150, sigma=6, area_threshold=0, random_state=s, seed_per_image=False),
        labels=[0, 1, 2])) for s in seeds]
    np.testing.assert_allclose(pc["iou"], np.mean([c["iou"] for c in cms], axis=0))
    assert pc["mean_dice"] == pytest.approx(np.mean([c["mean_dice"] for c in cms]))
    assert floor["alpha"] == 150 and floor["repeats"] == 3


def test_reproducible_and_worse_with_more_noise():
    t = _truth()
    a = noise_floor(t, alpha=100, sigma=6, repeats=2)
    assert a == noise_floor(t, alpha=100, sigma=6, repeats=2)
    b = noise_floor(t, alpha=400, sigma=6, repeats=2)
    assert b["f1"] < a["f1"] < 1.0
    assert noise_floor(t, alpha=0, sigma=6, repeats=2)["f1"] == 1.0


def test_one_class_ignore_and_progress():
    t = _truth()
    t[:5] = 255
    seen = []
    floor = noise_floor(t, alpha=100, sigma=6, repeats=2, positive=2, ignore_index=255,
                        progress=lambda d, n: seen.append((d, n)))
    assert seen == [(1, 2), (2, 2)]
    assert 255 not in floor["per_class"]["labels"]
    assert floor["tp"] <= np.count_nonzero(t == 2)
    with pytest.raises(ValueError, match="repeats"):
        noise_floor(t, alpha=1, sigma=1, repeats=0)


def test_specks_do_not_freeze_the_floor():
    # with suppression, every speck freezes a box of alpha/2 around it: a speckled
    # truth would score a perfect (and meaningless) floor; the default suppresses nothing
    t = _truth()
    t[::9, ::9] = 3  # specks all over the image
    floor = noise_floor(t, alpha=120, sigma=6, repeats=2, random_state=0)
    assert floor["f1"] < 0.999
