"""Packaging contracts: napari-free core, manifest imports, public API names."""

import importlib
import subprocess
import sys
from pathlib import Path

import yaml

import napari_maskclean

MANIFEST = Path(napari_maskclean.__file__).parent / "napari.yaml"


def test_core_import_is_napari_free():
    code = (
        "import sys, napari_maskclean, napari_maskclean.core;"
        "bad = [m for m in ('napari', 'qtpy', 'magicgui', 'PyQt6', 'PySide6', 'dask')"
        " if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_every_python_name_in_manifest_imports():
    manifest = yaml.safe_load(MANIFEST.read_text())
    names = [c["python_name"] for c in manifest["contributions"]["commands"]]
    assert names
    for name in names:
        module, attr = name.split(":")
        assert callable(getattr(importlib.import_module(module), attr)), name


def test_manifest_menus_and_widgets_point_at_commands():
    manifest = yaml.safe_load(MANIFEST.read_text())
    contrib = manifest["contributions"]
    ids = {c["id"] for c in contrib["commands"]}
    for menu_id, items in contrib.get("menus", {}).items():
        assert menu_id.startswith("napari/layers/"), menu_id
        for item in items:
            assert item["command"] in ids
    for section in ("widgets", "sample_data", "readers", "writers"):
        for item in contrib.get(section, []):
            assert item["command"] in ids
    widget_names = {w["display_name"] for w in contrib["widgets"]}
    assert {"Threshold", "Morphology"} <= widget_names


def test_contract_names_are_exported():
    for name in ("threshold_mask", "threshold_value", "morphology"):
        assert callable(getattr(napari_maskclean.core, name))
        assert callable(getattr(napari_maskclean, name))
