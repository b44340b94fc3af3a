"""numba kernels are cached (``cache=True``) even when the package folder is read-only.

numba's InTreeCacheLocator (``__pycache__`` next to the module) is skipped when that
folder is not writable, and its UserWideCacheLocator (the user's cache dir) is used
instead; CI sets NUMBA_CACHE_DIR, which takes precedence. Root ignores file modes, so
the read-only install is simulated by making the in-tree locator's writability check
fail, in fresh processes (numba reads its config at import).
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_CHILD = textwrap.dedent("""
    import numba.core.caching as caching

    def read_only(self):
        raise PermissionError("read-only install")

    caching.InTreeCacheLocator.ensure_cache_path = read_only

    import numpy as np
    from napari_maskclean.core import _region_kernels, region

    region.region_grow(np.zeros((3, 3), np.uint8), [[1, 1]], tolerance=0.1, relative=True)
    kernels = [v for v in vars(_region_kernels).values() if hasattr(v, "stats")
               and getattr(v, "_cache", None) is not None and v.signatures]
    assert kernels, "no compiled numba kernel in core._region_kernels"
    print("HITS", sum(sum(k.stats.cache_hits.values()) for k in kernels),
          "MISSES", sum(sum(k.stats.cache_misses.values()) for k in kernels))
""")


@pytest.mark.slow
def test_kernels_cached_in_the_user_cache_when_the_package_is_read_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["HOME"] = str(tmp_path)
    env["PYTHONPATH"] = str(Path(__file__).parents[2])

    def run():
        out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                             text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        words = out.stdout.split()
        return int(words[words.index("HITS") + 1]), int(words[words.index("MISSES") + 1])

    hits, misses = run()
    assert misses > 0  # compiled: nothing in the (empty) user cache
    written = list((tmp_path / "cache").rglob("*.nbi"))
    assert written, "numba wrote no cache index into the user cache dir"
    hits, misses = run()
    assert hits > 0 and misses == 0  # the second process loads every kernel from there
