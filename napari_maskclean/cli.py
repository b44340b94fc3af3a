"""The ``maskclean`` command: a thin layer over the library.

``maskclean demo`` opens napari with the sample data and every widget docked;
``maskclean compare TRUTH PRED`` scores masks against ground truth, file by file;
``maskclean run RECIPE INPUT... -o OUTDIR`` replays a recipe saved from the Recipe
dock on files, on dask (:mod:`napari_maskclean.batch.cli_run`).
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


#: Exit codes of ``maskclean`` (also listed in ``maskclean --help``).
EXIT_OK = 0
EXIT_NOTHING_COMPARED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
exit codes:
  0    success (compare: files that could not be compared are listed on stderr,
       one line each, and left out of the totals; run: at least one input was
       processed, each one that could not be is listed as 'FAILED file: reason')
  1    compare: nothing could be compared (every file was skipped);
       run: no input could be processed
  2    error: bad command line, a missing input, an output that is refused
       (exists without --overwrite, a folder, an input file, an unknown
       format, a folder that is missing or not writable), a recipe that
       cannot be read or replayed (unknown op, newer schema, bad parameter);
       one line on stderr, nothing written
  130  interrupted (Ctrl-C); nothing partial written (run: finished outputs
       are kept; --resume does the rest)
"""


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _fail(message: str, code: int = EXIT_ERROR) -> int:
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
    from ._widgets._napari_compat import main_window

    for dock in docks[1:]:
        main_window(viewer).tabifyDockWidget(docks[0], dock)
    wanted = FRONT_WIDGET.get(sample, WIDGETS[0])
    front = next((d for n, d in zip(shown, docks, strict=True) if n == wanted), None)
    if screenshot:
        import time

        from qtpy.QtWidgets import QApplication

        main_window(viewer).resize(1500, 950)
        for i in range(30):  # let live previews finish
            QApplication.processEvents()
            if i == 2:
                if front is not None:
                    front.raise_()  # after the docks' own tabbing
                viewer.reset_view()  # fit the image to the resized canvas
            time.sleep(0.05)
        from .io import atomic_write

        atomic_write(screenshot, lambda tmp: viewer.screenshot(os.fspath(tmp), canvas_only=False),
                     overwrite=True)
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
def _inside_inputs(out: str, inputs: tuple[str, ...]) -> str | None:
    """The input that ``out`` is, or the input folder it would be read from, else None."""
    from .io import MASK_EXTENSIONS

    real = os.path.realpath(out)
    for given in inputs:
        src = os.path.realpath(given)
        if os.path.isdir(src):
            # compare_paths reads every mask file of the folder (not sub-folders)
            if os.path.dirname(real) == src and real.lower().endswith(MASK_EXTENSIONS):
                return f"the input folder {given}"
        elif real == src or (
            os.path.exists(out) and os.path.exists(given) and os.path.samefile(out, given)
        ):
            return f"the input file {given}"
    return None


def _check_outputs(truth: str, pred: str, outputs: dict[str, tuple[str, tuple[str, ...]]],
                   overwrite: bool) -> None:
    """Refuse, before any work, every output that cannot or must not be written.

    ``outputs`` maps an option name to (path, allowed suffixes).
    """
    from .io import check_writable

    seen: dict[str, str] = {}
    for option, (path, suffixes) in outputs.items():
        if os.path.isdir(path):
            raise CLIError(f"{option} {path} is a folder; give a file name inside it, "
                           f"e.g. {os.path.join(path, 'report' + suffixes[0])}")
        clash = _inside_inputs(path, (truth, pred))
        if clash:
            raise CLIError(f"{option} {path} would overwrite or be read as {clash}; "
                           "write the output somewhere else")
        suffix = os.path.splitext(path)[1].lower()
        if suffix not in suffixes:
            raise CLIError(f"{option} {path}: unknown format ({suffix or 'no suffix'}); "
                           f"end the file name in {' or '.join(suffixes)}")
        real = os.path.realpath(path)
        if real in seen:
            raise CLIError(f"{option} and {seen[real]} are the same file {path}")
        seen[real] = option
        try:
            check_writable(path, overwrite=overwrite)
        except FileExistsError:
            raise CLIError(f"{path} exists; pass --overwrite to replace it") from None
        except OSError as err:
            raise CLIError(str(err)) from None


def _check_plotting() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CLIError("--plot needs matplotlib: pip install matplotlib "
                       "(or napari-maskclean[all])") from None


def compare(truth: str, pred: str, *, output: str | None, plot: str | None,
            positive: int | None, overwrite: bool, quiet: bool,
            tile_size: int | None = None) -> int:
    """Score PRED against TRUTH (files or folders); write CSV/JSON/plot; return the exit code."""
    from tqdm import tqdm

    from .report import PLOT_FORMATS, REPORT_FORMATS, compare_paths

    outputs = {}
    if output:
        outputs["-o/--output"] = (output, REPORT_FORMATS)
    if plot:
        outputs["--plot"] = (plot, PLOT_FORMATS)
    if not (os.path.exists(truth) and os.path.exists(pred)):
        missing = truth if not os.path.exists(truth) else pred
        raise CLIError(f"{missing} does not exist; pass a folder of masks or a mask file")
    _check_outputs(truth, pred, outputs, overwrite)
    if plot:
        _check_plotting()
    state = {"done": 0, "total": 0}
    with tqdm(total=0, unit="file", disable=quiet, file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            state["done"], state["total"] = done, total
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            report = compare_paths(truth, pred, positive=positive, progress=progress,
                                   tile_size=tile_size)
        except KeyboardInterrupt:
            bar.leave = False  # the one line below replaces the bar
            bar.close()
            print(f"maskclean: interrupted after {state['done']} of {state['total']} files; "
                  "nothing partial written", file=sys.stderr)
            return EXIT_INTERRUPTED
    for name, reason in report.skipped:
        reason = " ".join(str(reason).split())  # one line per file, always
        print(f"maskclean: skipped {name}: {reason}", file=sys.stderr)
    if report.n_compared == 0:
        return _fail("nothing could be compared (see the skipped files above)",
                     code=EXIT_NOTHING_COMPARED)
    writing = None
    try:
        if output:
            writing = output
            report.write(output, overwrite=overwrite)
        if plot:
            writing = plot
            report.plot(plot, overwrite=overwrite)
    except KeyboardInterrupt:
        print(f"maskclean: interrupted while writing {writing}; nothing partial written",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    print(report.summary())
    return EXIT_OK


# --------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``maskclean`` command."""
    parser = argparse.ArgumentParser(
        prog="maskclean",
        description="Clean segmentation masks and check them against ground truth.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="open napari with sample data and every widget docked")
    p.add_argument("--screenshot", metavar="PNG",
                   help="render the window to this PNG without a screen and exit")
    p.add_argument("--sample", default="coins",
                   choices=("coins", "blobs3d", "large", "rgb_mask"),
                   help="which sample to open (default: coins)")
    p = sub.add_parser("compare", help="score predicted masks against ground truth",
                       description="Score predicted masks against ground truth, file by "
                       "file (folders are matched by file name stem).",
                       epilog=EXIT_CODES_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("truth", help="ground-truth mask file or folder")
    p.add_argument("pred", help="predicted mask file or folder (matched by file name)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write per-file metrics and totals: .csv or .json (by the suffix)")
    p.add_argument("--plot", metavar="FILE", help="plot per-file F1/IoU/MCC: .png, .pdf or .svg")
    p.add_argument("--positive", type=int, default=None,
                   help="score only this label as foreground (default: any non-zero)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--tile-size", type=int, default=None, metavar="N",
                   help="big inputs (zarr, TIFF over 512 MiB) are compared tile by tile on dask, "
                   "same results; tile edge in pixels (default: the zarr chunks)")
    from .batch import cli_run

    p = sub.add_parser("run", help="replay a recipe (saved from the Recipe dock) on files, "
                       "on dask", description=cli_run.DESCRIPTION, epilog=EXIT_CODES_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    cli_run.build_parser(p)
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
        if args.command == "run":
            from .batch import cli_run

            return cli_run.main(args=args)
        if args.command == "compare":
            return compare(args.truth, args.pred, output=args.output, plot=args.plot,
                           positive=args.positive, overwrite=args.overwrite, quiet=args.quiet,
                           tile_size=args.tile_size)
    except KeyboardInterrupt:
        print("maskclean: interrupted; nothing partial written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CLIError as err:
        return _fail(str(err))
    except (ValueError, OSError) as err:
        return _fail(" ".join(str(err).split()))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
