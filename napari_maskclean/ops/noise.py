"""The label-noise op: reproducible noisy copies of label images in recipes and ``maskclean run``.

``elastic_deform_labels`` calls :func:`napari_maskclean.core.noise_copy.noisy_labels`:
the seed (``random_state``) is a parameter of the step, so a replay gives the
pixels the dock committed. With ``seed_per_image`` (default) every image gets
its own field, seeded by the step's seed mixed with a checksum of the image's
label values (:func:`~napari_maskclean.core.noise_copy.image_seed`): a folder
run writes different, reproducible noise into each file, whatever the files
are called or how they are encoded.

Tiling: the displacement is bounded (a normalised Gaussian of a field in
``[-alpha, alpha]`` stays in it, so no pixel moves farther than ``alpha``), but
the field itself is not local: it is one stream of a random generator drawn
over the whole image, the small components it is zeroed around are measured
over the whole image, ``instance_safe`` checks whole instances and the seed of
``seed_per_image`` hashes the whole image. A tile with any halo would draw
another field, so the op is refused by a tiled engine rather than run inexactly.
"""

from __future__ import annotations

from ..core.noise import SUPPRESSIONS
from ..core.noise_copy import MAX_SEED
from .builtin import _str_enum, register
from .spec import GlobalHow, Input, Locality, OpSpec, OutputKind, Param

__all__ = ["DEFAULTS", "ELASTIC_DEFORM_LABELS", "NoiseSuppression"]

NoiseSuppression = _str_enum("NoiseSuppression", SUPPRESSIONS,
                             "Where the field is zeroed around small components "
                             "(core.noise.Suppression).")

#: Defaults of the Label noise dock (and of the op): an annotation-noise level.
#: sigma 10 px with alpha 60 moves boundaries by about 1 px RMS per axis
#: (core.noise_copy.displacement_rms). The area threshold is 50 px, not the seed's
#: 1000: every component up to the threshold freezes its box padded by alpha // 2,
#: so with 1000 the noise *falls* as alpha grows on maps of small components
#: (1024² mask of 311 blobs, median 584 px, sigma 10: 0.61 / 0.75 / 0.16 % of the
#: pixels changed at alpha 30 / 60 / 120, against 1.39 / 3.03 / 5.94 % with 50).
#: On ragged instance masks (specks of a few pixels) even 50 freezes everything:
#: use 0 with instance_safe there (the dock says so when nothing moved).
DEFAULTS = {"alpha": 60.0, "sigma": 10.0, "area_threshold": 50}

ELASTIC_DEFORM_LABELS = register(OpSpec(
    name="elastic_deform_labels",
    func="napari_maskclean.core.noise_copy:noisy_labels",
    inputs=(Input("labels", doc="label image (2D, 3D, or stacks with per_slice)"),),
    output=OutputKind.LABELS,
    doc="A noisy copy of a label image: label-only elastic deformation (NSegment+), "
        "reproducible from its seed.",
    params=(
        Param("alpha", float, DEFAULTS["alpha"], min=0.0, max=1e5, label="alpha",
              tooltip="Amplitude of the random field before smoothing (pixels). The boundary "
                      "moves by about alpha / (6.1 * sigma) pixels RMS per axis in 2D."),
        Param("sigma", float, DEFAULTS["sigma"], min=0.1, max=500.0, label="sigma",
              tooltip="Smoothing of the field (pixels): small = jagged edges, large = "
                      "smooth, wide shifts."),
        Param("area_threshold", int, DEFAULTS["area_threshold"], min=0, label="keep small ≤",
              tooltip="Components with at most this many pixels are not deformed (their "
                      "padded box is frozen); 0 = none."),
        Param("ignore_index", int, None, optional=True, label="ignore label",
              tooltip="A label never frozen nor checked (e.g. 255); None = none."),
        Param("suppression", NoiseSuppression, "seed", label="suppression",
              tooltip="seed: zero the field before the blur (the paper's code; small "
                      "components may still move a little); exact: before and after "
                      "(small components untouched)."),
        Param("instance_safe", bool, False, label="instance-safe",
              tooltip="Instance masks: no instance vanishes or splits (the field is zeroed "
                      "around those that would)."),
        Param("random_state", int, 0, min=0, max=MAX_SEED, label="seed",
              tooltip="Seed of the random field: the same seed gives the same noise."),
        Param("seed_per_image", bool, True, label="new field per image",
              tooltip="Mix the seed with a checksum of the image's labels: every image of a "
                      "dataset gets its own (reproducible) field."),
        Param("per_slice", bool, False, label="each slice",
              tooltip="Deform every 2D slice of a stack on its own."),
    ),
    locality=Locality.global_(
        GlobalHow.UNTILEABLE,
        "the random field is one generator stream over the whole image and small "
        "components are measured over the whole image, so tiles would get other noise; "
        "it runs in memory only (maskclean run on ordinary files, one at a time)"),
))
