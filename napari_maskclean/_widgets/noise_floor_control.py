"""The noise-floor form the Compare dock embeds: annotator level, alpha, sigma, a button.

:class:`NoiseFloorControl` computes :func:`~napari_maskclean.core.noise_floor.noise_floor`
(the truth against noisy copies of itself) off the GUI thread and emits the
metrics dict, whose keys are those of the Compare metrics table, e.g.::

    control = NoiseFloorControl(truth_getter=lambda: (truth, {"positive": positive}))
    control.computed.connect(lambda m: dock.add_reference_row("noise floor", m))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from magicgui.widgets import ComboBox, Container, FloatSpinBox, Label, PushButton, SpinBox
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_error, show_info
from psygnal import Signal

from ..core.noise_copy import alpha_for_displacement
from ..core.noise_floor import noise_floor

__all__ = ["LEVELS", "LEVEL_SIGMA", "NoiseFloorControl", "max_seed"]

#: Annotator noise levels: RMS boundary displacement per axis (pixels) at sigma 10.
LEVELS = {"light (0.5 px)": 0.5, "moderate (1 px)": 1.0, "strong (2 px)": 2.0}
LEVEL_SIGMA = 10.0
_CUSTOM = "custom"


def max_seed() -> int:
    """Largest seed a Qt spin box holds (32-bit signed; the op takes up to 2**32 - 1)."""
    return 2**31 - 1


class NoiseFloorControl(Container):
    """Annotator noise level and a button: the metrics of the truth against noisy copies.

    Embedded in the Compare dock. Pressing the button calls ``truth_getter()``
    (which returns the truth array and keyword options for
    :func:`~napari_maskclean.core.noise_floor.noise_floor`, e.g. ``positive``),
    computes the floor in a worker and emits :attr:`computed` with its dict;
    :meth:`compute` does the same synchronously.
    """

    computed = Signal(object)

    def __init__(self, truth_getter: Callable[[], tuple[np.ndarray, dict]] | None = None):
        self.level = ComboBox(label="annotator noise", choices=(*LEVELS, _CUSTOM),
                              value="moderate (1 px)",
                              tooltip="How much careful annotators disagree: the RMS "
                                      "boundary shift per axis of the noisy copies.")
        self.alpha = FloatSpinBox(label="alpha", value=0.0, min=0, max=1e5, step=5)
        self.sigma = FloatSpinBox(label="sigma", value=LEVEL_SIGMA, min=0.5, max=500, step=0.5)
        self.repeats = SpinBox(label="repeats", value=5, min=1, max=100,
                               tooltip="Noisy copies averaged (mean and spread).")
        self.seed = SpinBox(label="seed", value=0, min=0, max=max_seed())
        self.button = PushButton(text="Compute noise floor")
        self.note = Label(value="")
        super().__init__(widgets=[self.level, self.alpha, self.sigma, self.repeats, self.seed,
                                  self.button, self.note], labels=True)
        self.truth_getter = truth_getter
        self.result: dict | None = None
        self._worker = None
        self._generation = 0
        self._setting = False
        self.level.changed.connect(self._level_changed)
        self.alpha.changed.connect(self._custom)
        self.sigma.changed.connect(self._custom)
        self.button.clicked.connect(self._clicked)
        self._level_changed()

    def _level_changed(self, *_args) -> None:
        rms = LEVELS.get(self.level.value)
        if rms is None:
            return
        self._setting = True
        try:
            self.sigma.value = LEVEL_SIGMA
            self.alpha.value = round(alpha_for_displacement(rms, LEVEL_SIGMA), 1)
        finally:
            self._setting = False

    def _custom(self, *_args) -> None:
        if not self._setting:
            self.level.value = _CUSTOM

    def params(self) -> dict[str, Any]:
        """Keyword arguments of :func:`noise_floor` for the current settings."""
        return {"alpha": float(self.alpha.value), "sigma": float(self.sigma.value),
                "repeats": int(self.repeats.value), "random_state": int(self.seed.value)}

    def compute(self, truth: np.ndarray, **options: Any) -> dict[str, Any]:
        """The noise floor of ``truth`` now (on this thread); also emitted."""
        self.result = noise_floor(truth, **self.params(), **options)
        self.computed.emit(self.result)
        return self.result

    def start(self, truth: np.ndarray, **options: Any) -> None:
        """Compute the noise floor in a worker; :attr:`computed` fires with the result."""
        if self._worker is not None:
            self._worker.quit()
        self._generation += 1
        generation = self._generation
        kw = {**self.params(), **options}
        truth = np.array(truth, copy=True)

        def work():
            yield
            return noise_floor(truth, **kw)

        def done(result):
            if generation != self._generation:
                return
            self._worker = None
            self.result = result
            self.note.value = (f"noise floor: Dice {result['f1']:.4f} ± "
                               f"{result['std']['f1']:.4f}, IoU {result['iou']:.4f}")
            self.computed.emit(result)

        def failed(err):
            if generation == self._generation:
                self._worker = None
                self.note.value = f"⚠ {err}"
                show_error(f"Noise floor: {err}")

        worker = thread_worker(work, progress={"total": 0, "desc": "Noise floor"},
                               ignore_errors=True)()
        worker.returned.connect(done)
        worker.errored.connect(failed)
        self._worker = worker
        self.note.value = "computing…"
        worker.start()

    @property
    def busy(self) -> bool:
        """True while a computation runs."""
        return self._worker is not None

    def _clicked(self, *_args) -> None:
        if self.truth_getter is None:
            show_info("Noise floor: no ground truth to measure (nothing connected).")
            return
        try:
            truth, options = self.truth_getter()
        except (ValueError, TypeError) as err:
            self.note.value = f"⚠ {err}"
            show_error(f"Noise floor: {err}")
            return
        self.start(truth, **options)
