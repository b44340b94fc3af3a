"""Docks in background tabs pause: no computing, preview hidden, no clicks caught."""

import numpy as np
import pytest

from napari_maskclean._widgets._docking import _OUR_DOCKS
from tests.conftest import wait_for_result

pytestmark = pytest.mark.gui


def settle(qtbot, ms=200):
    qtbot.wait(ms)


@pytest.fixture
def tabbed(make_napari_viewer, qtbot):
    """A shown viewer with Threshold, Morphology and Region growing in one tab group."""
    viewer = make_napari_viewer(show=True)
    image = np.zeros((64, 64), np.uint8)
    image[10:30, 10:30] = 200
    viewer.add_image(image, name="image")
    labels = np.zeros((64, 64), np.int32)
    labels[40:60, 40:60] = 1
    labels[45, 45] = 0
    viewer.add_labels(labels, name="labels")
    docks = {}
    for name in ("Threshold", "Morphology", "Region growing"):
        docks[name] = viewer.window.add_plugin_dock_widget("napari-maskclean", name)
    # They open as tabs, each raised by a deferred call at its first show: wait for all
    # of those before choosing the tab in front, or a late one raises its dock after.
    qtbot.waitUntil(lambda: all(dock in _OUR_DOCKS for dock, _ in docks.values()))
    first = docks["Threshold"][0]
    for dock, _ in list(docks.values())[1:]:
        viewer.window._qt_window.tabifyDockWidget(first, dock)
    first.raise_()
    widgets = {name: widget for name, (_, widget) in docks.items()}
    # Threshold in front, the others paused; what each dock knows of it, not a delay
    qtbot.waitUntil(lambda: all(w._dock_visible == (name == "Threshold")
                                and w._hidden == (name != "Threshold")
                                for name, w in widgets.items()))
    return viewer, widgets, docks


def test_background_tabs_do_not_compute_or_show_previews(tabbed, qtbot):
    viewer, widgets, docks = tabbed
    threshold, morphology = widgets["Threshold"], widgets["Morphology"]
    wait_for_result(qtbot, threshold)
    assert threshold.preview_layer().visible
    assert morphology._hidden
    # (each dock was in front for a moment when it opened: a preview may exist, hidden)
    assert morphology.preview_layer() is None or not morphology.preview_layer().visible
    before = morphology.last_result
    morphology.radius.value = 2  # a change while hidden: remembered, not computed
    settle(qtbot)
    assert morphology.last_result is before
    assert morphology.preview_layer() is None or not morphology.preview_layer().visible

    docks["Morphology"][0].raise_()  # bring its tab to the front: it catches up
    wait_for_result(qtbot, morphology)
    assert morphology.preview_layer().visible
    assert morphology.last_result.job.params["radius"] == 2
    qtbot.waitUntil(lambda: threshold._hidden)
    assert not threshold.preview_layer().visible  # hidden with its dock

    docks["Threshold"][0].raise_()
    qtbot.waitUntil(lambda: threshold.preview_layer().visible)
    assert not morphology.preview_layer().visible


def test_a_preview_hidden_by_the_user_stays_hidden(tabbed, qtbot):
    viewer, widgets, docks = tabbed
    threshold = widgets["Threshold"]
    wait_for_result(qtbot, threshold)
    threshold.preview_layer().visible = False  # the user's choice
    docks["Morphology"][0].raise_()
    qtbot.waitUntil(lambda: threshold._hidden)
    docks["Threshold"][0].raise_()
    qtbot.waitUntil(lambda: not threshold._hidden)
    assert not threshold.preview_layer().visible


def test_hiding_region_growing_turns_clicking_off(tabbed, qtbot):
    viewer, widgets, docks = tabbed
    region = widgets["Region growing"]
    docks["Region growing"][0].raise_()
    qtbot.waitUntil(lambda: not region._hidden)
    region.image.value = viewer.layers["image"]
    region.clicking.value = True
    assert region._on_mouse in viewer.mouse_drag_callbacks
    docks["Threshold"][0].raise_()
    qtbot.waitUntil(lambda: region._hidden)
    assert not region.clicking.value
    assert region._on_mouse not in viewer.mouse_drag_callbacks


def test_a_dock_closed_and_opened_again_shows_its_preview(make_napari_viewer, qtbot):
    """napari's close button only hides the dock: the new one must not inherit a hidden preview."""
    viewer = make_napari_viewer(show=True)
    labels = np.zeros((64, 64), np.int32)
    labels[10:30, 10:30] = 1
    labels[15, 15] = 0
    viewer.add_labels(labels, name="labels")
    dock, widget = viewer.window.add_plugin_dock_widget("napari-maskclean", "Morphology")
    wait_for_result(qtbot, widget)
    old_preview = widget.preview_layer()
    assert old_preview.visible
    viewer.window.remove_dock_widget(dock)  # what the dock's X does
    qtbot.waitUntil(lambda: widget._hidden or widget._closed)
    settle(qtbot)
    _, again = viewer.window.add_plugin_dock_widget("napari-maskclean", "Morphology")
    again.radius.value = 2
    wait_for_result(qtbot, again)
    assert again.preview_layer().visible
    assert [lay.name for lay in viewer.layers].count(again.preview_name) == 1


def test_docks_opened_one_by_one_become_tabs(make_napari_viewer, qtbot):
    """Docked from the Plugins menu one after the other: tabs, the newest in front."""
    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((64, 64), np.uint8), name="image")
    first, threshold = viewer.window.add_plugin_dock_widget("napari-maskclean", "Threshold")
    settle(qtbot)
    second, morphology = viewer.window.add_plugin_dock_widget("napari-maskclean", "Morphology")
    main = viewer.window._qt_window
    qtbot.waitUntil(lambda: first in main.tabifiedDockWidgets(second))
    qtbot.waitUntil(lambda: threshold._hidden and not morphology._hidden)  # newest in front


def test_no_popups_from_a_background_tab(tabbed, qtbot, monkeypatch):
    import napari_maskclean._widgets._engine as engine
    import napari_maskclean._widgets._live as live

    popups = []
    monkeypatch.setattr(engine, "show_error", popups.append)
    viewer, widgets, docks = tabbed
    morphology, threshold = widgets["Morphology"], widgets["Threshold"]
    qtbot.waitUntil(lambda: not morphology._dock_visible)
    morphology._report_error(live.InputError("something is wrong"))
    assert popups == [] and "something is wrong" in morphology.status.value
    threshold._report_error(live.InputError("in front"))
    assert popups == ["in front"]


ALL_DOCKS = ("Threshold", "Morphology", "Region growing", "Fill holes",
             "Compare with ground truth", "Instances", "Label noise", "Recipe", "RGB to grey")


def _tab_bars_with(main, titles):
    from qtpy.QtWidgets import QTabBar

    return [bar for bar in main.findChildren(QTabBar)
            if any(bar.tabText(i) in titles for i in range(bar.count()))]


def test_opening_every_dock_keeps_the_window_height(make_napari_viewer, qtbot):
    """Tall docks (Compare, Label noise) scroll instead of making the window taller."""
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("napari-maskclean", "coins")
    main = viewer.window._qt_window
    settle(qtbot)
    height = main.height()
    for name in ALL_DOCKS:
        dock, _ = viewer.window.add_plugin_dock_widget("napari-maskclean", name)
        settle(qtbot, 100)
        assert main.height() == height, f"the window grew when {name!r} opened"
        assert dock.minimumSizeHint().height() < height


def test_tab_titles_are_not_cut(make_napari_viewer, qtbot):
    """The plugin's tabs show their short titles in full ("Threshold", not "Th…")."""
    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((64, 64), np.uint8), name="image")
    names = ("Threshold", "Morphology", "Region growing", "Fill holes",
             "Compare with ground truth", "Instances")
    widgets = [viewer.window.add_plugin_dock_widget("napari-maskclean", n)[1] for n in names]
    titles = {w.title for w in widgets}
    main = viewer.window._qt_window
    qtbot.waitUntil(lambda: len(_tab_bars_with(main, titles)) == 1)
    bar = _tab_bars_with(main, titles)[0]
    assert {bar.tabText(i) for i in range(bar.count())} == titles
    metrics = bar.fontMetrics()
    for i in range(bar.count()):
        text = bar.tabText(i)
        assert bar.tabRect(i).width() >= metrics.horizontalAdvance(text), text


def test_seeds_used_by_a_commit_leave_no_visible_empty_layer(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    image = np.zeros((64, 64), np.uint8)
    image[10:30, 10:30] = 200
    viewer.add_image(image, name="image")
    _, region = viewer.window.add_plugin_dock_widget("napari-maskclean", "Region growing")
    region.click((20.0, 20.0))
    wait_for_result(qtbot, region)
    seeds = region.seeds_layer()
    assert seeds.visible and len(seeds.data) == 1
    assert region.run_commit() > 0
    assert len(seeds.data) == 0
    assert not seeds.visible
    qtbot.waitUntil(lambda: region.preview_layer() is None
                    or not region.preview_layer().visible)  # the preview empties too
    region.click((40.0, 40.0))  # a new seed: the layer is shown with its result
    qtbot.waitUntil(lambda: region.is_current() and len(seeds.data) == 1)
    assert seeds.visible


def test_the_recipe_dock_opens_as_a_tab_too(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((64, 64), np.uint8), name="image")
    first, _threshold = viewer.window.add_plugin_dock_widget("napari-maskclean", "Threshold")
    settle(qtbot)
    second, recipe = viewer.window.add_plugin_dock_widget("napari-maskclean", "Recipe")
    main = viewer.window._qt_window
    qtbot.waitUntil(lambda: first in main.tabifiedDockWidgets(second))
    assert second.windowTitle() == "Recipe"
    recipe.refresh()  # still works as a tab
