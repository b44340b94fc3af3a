"""The ``maskclean run`` command line: a recipe over files, on dask.

Exit codes: 0 at least one input processed (or skipped as already done; each
one that could not be is named on stderr with its reason), 1 no input could be
processed, 2 bad usage, recipe or cluster, 130 interrupted (Ctrl-C: finished
outputs are kept, nothing is half-written; ``--resume`` finishes the rest).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence

__all__ = ["EXIT_CODES", "build_parser", "main"]

EXIT_CODES = """exit codes:
  0    at least one input processed (or already done with --resume); each one
       that could not be is listed on stderr as 'FAILED file: reason'
  1    no input could be processed
  2    bad arguments, recipe, output folder or cluster address
  130  interrupted (Ctrl-C): finished outputs kept, nothing half-written;
       run again with --resume to do the rest"""


DESCRIPTION = textwrap.fill(
    "Replay a recipe (saved from the Recipe dock) on files, folders or glob patterns, on "
    "dask: one task per file (outputs in the input's format, colour masks and JPEG inputs "
    "as PNG, written atomically with a <output>.recipe.json sidecar: recipe, versions, the "
    "input's SHA-256); big inputs (.zarr, TIFF over 64 Mpx) tile by tile into a resumable "
    "OME-Zarr. Runs on local worker processes (all cores) or an existing dask cluster.")


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The ``run`` arguments (added to ``parser``, e.g. a subcommand's)."""
    if parser is None:
        parser = argparse.ArgumentParser(prog="maskclean run", description=DESCRIPTION,
                                         epilog=EXIT_CODES,
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", help="recipe JSON file")
    parser.add_argument("inputs", nargs="+", help="files, folders or glob patterns")
    parser.add_argument("-o", "--outdir", required=True, help="output folder (created)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--resume", action="store_true",
                        help="skip outputs already made by this recipe from the same input "
                             "(checked by the input's SHA-256) and finish big outputs")
    parser.add_argument("--workers", type=int, default=None,
                        help="local worker processes (default: all cores)")
    parser.add_argument("--memory-limit", default=None,
                        help="memory per local worker, e.g. 2GB (default: dask's auto)")
    parser.add_argument("--scheduler", default=None,
                        help="address of an existing dask.distributed scheduler, "
                             "e.g. tcp://host:8786 (default: a local cluster)")
    parser.add_argument("--tile-size", type=int, default=None,
                        help="tile edge in pixels for big inputs (default 3072)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None, args: argparse.Namespace | None = None) -> int:
    """Run the command; return its exit code (see :data:`EXIT_CODES`)."""
    from ..recipe import Recipe, RecipeError
    from .cluster import ClusterError, client_for
    from .runner import DEFAULT_TILE, Interrupted, run_batch

    if args is None:
        args = build_parser().parse_args(argv)
    tile = args.tile_size or DEFAULT_TILE
    if tile < 16:
        print(f"maskclean run: --tile-size must be at least 16, got {tile}", file=sys.stderr)
        return 2
    try:
        recipe = Recipe.load(args.recipe)
        recipe.output_name()
    except (RecipeError, FileNotFoundError, OSError) as err:
        print(f"maskclean run: {err}", file=sys.stderr)
        return 2
    bar = None
    try:
        with client_for(scheduler=args.scheduler, workers=args.workers,
                        memory_limit=args.memory_limit) as client:
            if not args.quiet:
                from tqdm import tqdm

                bar = tqdm(total=0, unit="task", file=sys.stderr, leave=False)

            def progress(done: int, total: int) -> None:
                if bar is not None:
                    bar.total = total
                    bar.n = done
                    bar.refresh()

            summary = run_batch(recipe, args.inputs, args.outdir, client=client,
                                overwrite=args.overwrite, resume=args.resume, tile=tile,
                                progress=progress)
    except ClusterError as err:
        print(f"maskclean run: {err}", file=sys.stderr)
        return 2
    except Interrupted as stop:
        if bar is not None:
            bar.close()
        print(f"maskclean run: interrupted after {stop.done} of {stop.total} files; "
              "finished outputs kept, nothing half-written (--resume does the rest)",
              file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("maskclean run: interrupted before any file was processed", file=sys.stderr)
        return 130
    except (RecipeError, OSError) as err:
        print(f"maskclean run: {err}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
    for line in summary.lines():
        print(line, file=sys.stderr if line.startswith("FAILED") else sys.stdout)
    return summary.exit_code
