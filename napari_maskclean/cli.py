"""The ``maskclean`` command: a thin layer over the library.

``maskclean demo`` opens napari with the sample data and every widget docked;
``maskclean compare TRUTH PRED`` scores masks against ground truth, file by file.
Errors are one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

#: Display names of the dock widgets, in the order the demo docks them.
WIDGETS = ("Threshold", "Morphology", "Region growing", "Fill holes", "Compare with ground truth")
PLUGIN = "napari-maskclean"
#: The widget the demo shows in front for each sample.
FRONT_WIDGET = {"coins": "Compare with ground truth", "rgb_mask": "Fill holes",
                "blobs3d": "Morphology", "large": "Threshold"}


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _fail(message: str, code: int = 2) -> int:
    print(f"maskclean: error: {message}", file=sys.stderr)
    return code


# --------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------
def _needs_virtual_display() -> bool:
    return sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not (
        os.environ.get("WAYLAND_DISPLAY"))


def _rerun_under_xvfb(argv: list[str]) -> int:
    """Run this same command again under ``xvfb-run`` (no screen attached)."""
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        raise CLIError(
            "no display: set DISPLAY, or install Xvfb (apt-get install xvfb xauth) and run "
            "'xvfb-run -a maskclean demo --screenshot demo.png'")
    cmd = [xvfb, "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "-m",
           "napari_maskclean.cli", *argv]
    return subprocess.call(cmd)


def available_widgets() -> list[str]:
    """Display names of the dock widgets registered in the manifest."""
    from npe2 import PluginManager

    pm = PluginManager.instance()
    pm.discover()
    manifest = pm.get_manifest(PLUGIN)
    return [w.display_name for w in manifest.contributions.widgets or []]


def demo(screenshot: str | None = None, *, sample: str = "coins") -> int:
    """Open napari with a sample and every widget docked; optionally save a screenshot."""
    import napari

    viewer = napari.Viewer(title="maskclean demo", show=True)
    viewer.open_sample(PLUGIN, sample)
    registered = set(available_widgets())
    docks, shown = [], []
    for name in WIDGETS:
        if name in registered:
            dock, _widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
            docks.append(dock)
            shown.append(name)
    # Tab the docks so the window stays readable (they also open as tabs on their
    # own). In front: the widget that suits the sample; the docks behind pause and
    # hide their previews.
    for dock in docks[1:]:
        viewer.window._qt_window.tabifyDockWidget(docks[0], dock)
    wanted = FRONT_WIDGET.get(sample, WIDGETS[0])
    front = next((d for n, d in zip(shown, docks, strict=True) if n == wanted), None)
    if screenshot:
        import time

        from qtpy.QtWidgets import QApplication

        viewer.window._qt_window.resize(1500, 950)
        for i in range(30):  # let live previews finish
            QApplication.processEvents()
            if i == 2:
                if front is not None:
                    front.raise_()  # after the docks' own tabbing
                viewer.reset_view()  # fit the image to the resized canvas
            time.sleep(0.05)
        viewer.screenshot(screenshot, canvas_only=False)
        print(f"saved {screenshot}")
        viewer.close()
        return 0
    if front is not None:
        from qtpy.QtCore import QTimer

        QTimer.singleShot(300, front.raise_)  # after the docks' own tabbing
    napari.run()
    return 0


# --------------------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------------------
def _check_output(path: str | None, overwrite: bool) -> None:
    """Refuse, before any work, an output that cannot or must not be written."""
    if not path:
        return
    if os.path.exists(path) and not overwrite:
        raise CLIError(f"{path} exists; pass --overwrite to replace it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"cannot write {path}: the folder {folder} does not exist")


def _check_plotting() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CLIError("--plot needs matplotlib: pip install matplotlib "
                       "(or napari-maskclean[all])") from None


def compare(truth: str, pred: str, *, output: str | None, plot: str | None,
            positive: int | None, overwrite: bool, quiet: bool) -> int:
    """Score PRED against TRUTH (files or folders); write CSV/plot; return the exit code."""
    from tqdm import tqdm

    from .report import compare_paths

    _check_output(output, overwrite)
    _check_output(plot, overwrite)
    if plot:
        _check_plotting()
    with tqdm(total=0, unit="file", disable=quiet, file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        report = compare_paths(truth, pred, positive=positive, progress=progress)
    for name, reason in report.skipped:
        print(f"maskclean: skipped {name}: {reason}", file=sys.stderr)
    if report.n_compared == 0:
        return _fail("nothing could be compared (see the skipped files above)", code=1)
    if output:
        report.write_csv(output)
    if plot:
        report.plot(plot)
    print(report.summary())
    return 0


# --------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``maskclean`` command."""
    parser = argparse.ArgumentParser(
        prog="maskclean",
        description="Clean segmentation masks and check them against ground truth.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="open napari with sample data and every widget docked")
    p.add_argument("--screenshot", metavar="PNG",
                   help="render the window to this PNG without a screen and exit")
    p.add_argument("--sample", default="coins",
                   choices=("coins", "blobs3d", "large", "rgb_mask"),
                   help="which sample to open (default: coins)")
    p = sub.add_parser("compare", help="score predicted masks against ground truth")
    p.add_argument("truth", help="ground-truth mask file or folder")
    p.add_argument("pred", help="predicted mask file or folder (matched by file name)")
    p.add_argument("-o", "--output", metavar="CSV", help="write per-file metrics and totals")
    p.add_argument("--plot", metavar="PNG", help="plot per-file F1/IoU/MCC")
    p.add_argument("--positive", type=int, default=None,
                   help="score only this label as foreground (default: any non-zero)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``maskclean`` command; return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            if args.screenshot and _needs_virtual_display():
                return _rerun_under_xvfb(argv)
            return demo(args.screenshot, sample=args.sample)
        if args.command == "compare":
            return compare(args.truth, args.pred, output=args.output, plot=args.plot,
                           positive=args.positive, overwrite=args.overwrite, quiet=args.quiet)
    except CLIError as err:
        return _fail(str(err))
    except (ValueError, FileNotFoundError, FileExistsError, OSError) as err:
        return _fail(str(err))
    return 0


if __name__ == "__main__":
    sys.exit(main())
