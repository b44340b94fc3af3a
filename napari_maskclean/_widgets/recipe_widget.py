"""The Recipe dock: the steps committed in this viewer, edited, saved, exported, applied.

The list shows the viewer's recipe (:func:`~._recording.recorder_for`), one row
per step, with a check box to enable or disable it. Up/Down reorder, Delete
removes; selecting a step shows its parameters in the same form the docks
use (:class:`~._form.SpecForm`), "Apply changes" validates them against the
op's spec. Save/Load read and write the recipe JSON; "Export script" writes
the equivalent Python script (:meth:`Recipe.to_python`). "Apply to selected
layer" replays the enabled steps with the selected layer as the recipe's input
and writes the result in ONE undo step through the single write path: into
the layer itself when it is a Labels layer of the result's shape (a clean-up
recipe), else into a new Labels layer.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from magicgui.widgets import Container, PushButton
from napari.layers import Image, Labels
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFileDialog, QListWidget, QListWidgetItem

from ..recipe import Recipe, RecipeError, Step
from ._docking import _VisibilityFilter
from ._errors import InputError
from ._form import SpecForm
from ._layers import is_owned, new_labels_layer, wrapping_label
from ._recording import recorder_for
from ._write import write_labels

if TYPE_CHECKING:
    import napari

__all__ = ["RecipeWidget", "describe"]


def describe(number: int, step: Step) -> str:
    """One line for a step: number, op, what it read and wrote, and where."""
    reads = ", ".join(step.inputs.values())
    where = {"slice": f"slice at {step.slice_world}", "volume": "",
             "each_slice": "each slice"}[getattr(step.scope, "value", step.scope)]
    line = f"{number}. {step.op}: {reads} → {step.target}"
    return f"{line} ({where})" if where else line


class RecipeWidget(Container):
    """The Recipe dock (see the module docstring)."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(labels=False)
        self.viewer = viewer
        self.recorder = recorder_for(viewer)
        self.list = QListWidget()
        self.list.setToolTip("The steps committed in this viewer, in order. Untick a step "
                             "to skip it; select one to edit its parameters.")
        self.list.currentRowChanged.connect(self._selected)
        self.list.itemChanged.connect(self._ticked)
        self.native.layout().addWidget(self.list)
        buttons = {
            "up": ("Up", "Move the selected step one up.", self.move_up),
            "down": ("Down", "Move the selected step one down.", self.move_down),
            "delete": ("Delete", "Remove the selected step.", self.delete),
            "save": ("Save…", "Save the recipe as JSON.", self._save_dialog),
            "load": ("Load…", "Replace this viewer's recipe by a JSON recipe.",
                     self._load_dialog),
            "export": ("Export script…", "Write an equivalent Python script.",
                       self._export_dialog),
            "apply": ("Apply to selected layer", "Replay the enabled steps on the selected "
                      "layer (one undo step).", self.apply_to_selected),
        }
        self.buttons: dict[str, PushButton] = {}
        for key, (text, tip, func) in buttons.items():
            button = PushButton(text=text, tooltip=tip)
            button.clicked.connect(lambda *_a, f=func: self._guarded(f))
            self.buttons[key] = button
        self.extend([Container(widgets=[self.buttons[k] for k in ("up", "down", "delete")],
                               layout="horizontal", labels=False),
                     Container(widgets=[self.buttons[k] for k in ("save", "load", "export")],
                               layout="horizontal", labels=False)])
        self.params_box = Container(labels=True)
        self.apply_params = PushButton(text="Apply changes", tooltip="Validate and store the "
                                       "edited parameters in the selected step.")
        self.apply_params.clicked.connect(lambda *_a: self._guarded(self.edit_selected))
        self.status = wrapping_label()
        self.extend([self.params_box, self.apply_params, self.buttons["apply"], self.status])
        self.form: SpecForm | None = None
        ref = weakref.ref(self)

        def refresh() -> None:  # no strong reference from the recorder to a closed dock
            widget = ref()
            if widget is not None:
                try:
                    widget.refresh()
                except RuntimeError:  # its Qt objects are gone
                    pass

        self.recorder.on_change(refresh)
        self.refresh()
        # Opens as a tab beside the plugin's other docks, as theirs do.
        self.title, self.pause_when_hidden = "Recipe", False
        self._visibility_filter = _VisibilityFilter(self)
        self.native.installEventFilter(self._visibility_filter)

    # ---- list ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the recorder's steps (keeping the selection when possible)."""
        row = self.list.currentRow()
        self.list.blockSignals(True)
        self.list.clear()
        for i, step in enumerate(self.recorder.steps):
            item = QListWidgetItem(describe(i + 1, step))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if step.enabled else
                               Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)
        n = len(self.recorder)
        self.list.setCurrentRow(min(row, n - 1) if row >= 0 else n - 1)
        self._selected(self.list.currentRow())
        for key in ("up", "down", "delete", "save", "export", "apply"):
            self.buttons[key].enabled = n > 0

    @property
    def selected(self) -> int:
        """Index of the selected step (-1: none)."""
        return self.list.currentRow()

    def select(self, index: int) -> None:
        """Select step ``index`` (shows its parameters)."""
        self.list.setCurrentRow(index)

    def _ticked(self, item: QListWidgetItem) -> None:
        index = self.list.row(item)
        enabled = item.checkState() == Qt.CheckState.Checked
        if self.recorder.steps[index].enabled != enabled:
            self.recorder.set_enabled(index, enabled)

    def set_enabled(self, index: int, enabled: bool) -> None:
        """Tick or untick step ``index`` (as a click on its check box does)."""
        self.list.item(index).setCheckState(Qt.CheckState.Checked if enabled else
                                            Qt.CheckState.Unchecked)

    def _selected(self, index: int) -> None:
        self.params_box.clear()
        self.form = None
        self.apply_params.enabled = False
        if not 0 <= index < len(self.recorder):
            return
        step = self.recorder.steps[index]
        self.form = SpecForm(step.spec, exclude=("per_slice",))
        self.form.set_values({k: v for k, v in step.params.items() if k != "per_slice"})
        self.params_box.extend(self.form.widgets)
        self.form.update_visibility()
        self.apply_params.enabled = True

    # ---- actions ---------------------------------------------------------------------
    def _guarded(self, func) -> None:
        """Run a button's action; bad input is a message, not a traceback."""
        try:
            func()
        except (InputError, RecipeError, ValueError, OSError) as err:
            self.status.value = f"⚠ {err}"
            show_error(f"Recipe: {err}")

    def move_up(self) -> None:
        """Move the selected step one up."""
        i = self.selected
        if i > 0:
            self.recorder.move(i, i - 1)
            self.select(i - 1)

    def move_down(self) -> None:
        """Move the selected step one down."""
        i = self.selected
        if 0 <= i < len(self.recorder) - 1:
            self.recorder.move(i, i + 1)
            self.select(i + 1)

    def delete(self) -> None:
        """Remove the selected step."""
        if 0 <= self.selected < len(self.recorder):
            self.recorder.delete(self.selected)

    def edit_selected(self) -> None:
        """Store the form's parameters in the selected step (validated by its spec)."""
        i = self.selected
        if self.form is None or not 0 <= i < len(self.recorder):
            return
        self.recorder.edit(i, **self.form.values())
        self.status.value = f"step {i + 1} updated"

    def save(self, path: str | Path, *, overwrite: bool = True) -> Path:
        """Write the recipe as JSON."""
        out = self.recorder.recipe.save(path, overwrite=overwrite)
        self.status.value = f"saved {out}"
        return out

    def load(self, path: str | Path) -> None:
        """Replace this viewer's recipe by the one in ``path``."""
        self.recorder.replace(Recipe.load(path))
        self.status.value = f"loaded {len(self.recorder)} steps from {Path(path).name}"

    def export_script(self, path: str | Path) -> Path:
        """Write the equivalent Python script."""
        path = Path(path)
        path.write_text(self.recorder.recipe.to_python(), encoding="utf-8")
        self.status.value = f"exported {path}"
        return path

    def _file(self, save: bool, caption: str, filt: str) -> str | None:
        dialog = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
        path, _ = dialog(self.native, caption, "", filt)
        return path or None

    def _save_dialog(self) -> None:
        path = self._file(True, "Save recipe", "Recipe (*.json)")
        if path:
            self.save(path)  # the dialog already asked about replacing

    def _load_dialog(self) -> None:
        path = self._file(False, "Load recipe", "Recipe (*.json)")
        if path:
            self.load(path)

    def _export_dialog(self) -> None:
        path = self._file(True, "Export recipe as a Python script", "Python (*.py)")
        if path:
            self.export_script(path)

    def apply_to_selected(self) -> int:
        """Replay the enabled steps on the selected layer; write the result in one undo step.

        Returns the number of pixels changed.
        """
        layer = self.viewer.layers.selection.active
        if layer is None or is_owned(layer) or not isinstance(layer, (Image, Labels)):
            raise InputError("select the image or labels layer to apply the recipe to.")
        recipe = self.recorder.recipe
        names = recipe.input_names()
        if len(names) != 1:
            raise InputError(f"the recipe reads {len(names)} layers {names}; 'apply to the "
                             "selected layer' needs a recipe with one input layer.")
        palettes = {}
        if "palette" in layer.metadata and isinstance(layer, Labels):
            palettes[names[0]] = layer.metadata["palette"]
        ws = recipe.run({names[0]: np.asarray(layer.data)}, palettes=palettes)
        name = recipe.output_name()
        out = ws.layers[name]
        if not isinstance(out, np.ndarray) or out.dtype.kind not in "iub":
            raise InputError(f"the recipe's result {name!r} is not a label image; apply it "
                             "with 'maskclean run' or the exported script.")
        shape = layer.data.shape[: layer.ndim]
        if isinstance(layer, Labels) and out.shape == layer.data.shape:
            target = layer
        elif out.shape == shape:
            target = new_labels_layer(self.viewer, layer, f"{layer.name} {name}")
            if name in ws.palettes:
                target.metadata["palette"] = ws.palettes[name]
        else:
            raise InputError(f"the recipe's result has shape {out.shape}, the layer "
                             f"{layer.name!r} {shape}; select a layer like the recipe's input.")
        n = write_labels(target, out, preserve_labels=False)
        msg = f"applied {len(recipe.active_steps())} steps to {layer.name!r}: {n} pixels " \
              f"changed in {target.name!r} (Ctrl-Z undoes)"
        self.status.value = msg
        show_info(f"Recipe: {msg}")
        return n
