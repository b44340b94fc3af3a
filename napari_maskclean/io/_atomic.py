"""The one atomic, no-clobber writer behind every file the product writes.

A file is written completely under a hidden temporary name in the target's
folder, then moved to its name in one step, so a reader (or a crash, a kill,
Ctrl-C, a full disk) never sees a half-written file. Without ``overwrite``
the "does it exist?" check is made by the move itself (a hard link, which
fails if the name is taken), so a file created by someone else while we were
writing is never replaced.

A folder store (``.zarr``) is written the same way: a hidden temporary folder
is filled, then renamed in one step (a rename onto an existing folder with
content fails, so nothing is clobbered either).
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from ._common import PathLike

__all__ = ["atomic_write", "check_writable"]

#: Suffixes of outputs that are folders (chunked stores), written as a whole folder.
FOLDER_SUFFIXES = (".zarr",)

_OVERWRITE_HINT = "pass overwrite=True (on the command line: --overwrite) to replace it"


def _os_error(cls: type[OSError], code: int | None, message: str) -> OSError:
    """An OSError whose str() is just ``message`` (no "[Errno N]" prefix), errno kept."""
    err = cls(message)
    err.errno = code
    return err


def _exists_error(target: Path) -> FileExistsError:
    message = f"{str(target)!r} already exists; {_OVERWRITE_HINT}"
    return _os_error(FileExistsError, errno.EEXIST, message)


def _folder(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def _is_folder_store(target: Path) -> bool:
    return target.suffix.lower() in FOLDER_SUFFIXES


def _checks(target: Path, *, overwrite: bool) -> None:
    if _is_folder_store(target) and target.is_dir():
        if not overwrite:
            raise _exists_error(target)
    elif target.is_dir():
        raise _os_error(
            IsADirectoryError, errno.EISDIR,
            f"{str(target)!r} is a folder; give a file name inside it",
        )
    if not overwrite and (target.exists() or target.is_symlink()):
        raise _exists_error(target)
    folder = _folder(target)
    if not folder.is_dir():
        raise _os_error(
            FileNotFoundError, errno.ENOENT,
            f"cannot write {str(target)!r}: the folder {str(folder)!r} does not exist; "
            "create it first (e.g. Path(folder).mkdir(parents=True))",
        )


def _temp_name(target: Path) -> Path:
    token = secrets.token_hex(4)
    return _folder(target) / f".{target.stem}.tmp-{token}{target.suffix}"


def _create_temp(target: Path) -> Path:
    """Create (exclusively) an empty temporary file (or folder store) next to ``target``."""
    for _ in range(100):
        tmp = _temp_name(target)
        try:
            if _is_folder_store(target):
                os.mkdir(tmp)
            else:
                # O_EXCL: never reuse someone else's file; 0o666 & umask, as a plain open()
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                os.close(fd)
        except FileExistsError:
            continue
        except OSError as err:
            raise _not_writable(target, err) from None
        return tmp
    raise FileExistsError(f"cannot create a temporary file next to {str(target)!r}")


def _not_writable(target: Path, err: OSError) -> OSError:
    folder = _folder(target)
    reason = err.strerror or str(err)
    return _os_error(
        type(err), err.errno,
        f"cannot write {str(target)!r}: the folder {str(folder)!r} is not writable ({reason}); "
        "choose another folder",
    )


def check_writable(path: PathLike, *, overwrite: bool = False) -> Path:
    """Check, before any work, that :func:`atomic_write` can write ``path``.

    Refuses a folder (even with ``overwrite``), an existing file without
    ``overwrite``, a missing folder, and a folder where no file can be created
    (read-only, permissions, ``/proc``): a hidden probe file is created and
    removed, the only check that is right for every file system and for root.

    Parameters
    ----------
    path : str or path-like
        The file that will be written.
    overwrite : bool, optional
        Whether an existing file may be replaced.

    Returns
    -------
    path : pathlib.Path
        ``path`` as a Path.

    Raises
    ------
    FileExistsError, IsADirectoryError, FileNotFoundError, PermissionError, OSError
        With a message naming ``path`` and what to do.
    """
    target = Path(os.fspath(path))
    _checks(target, overwrite=overwrite)
    _remove(_create_temp(target))
    return target


def _remove(tmp: Path) -> None:
    """Remove a temporary file or folder store (gone already is fine)."""
    if tmp.is_dir() and not tmp.is_symlink():
        shutil.rmtree(tmp, ignore_errors=True)
        return
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


def _retarget(err: BaseException, tmp: Path, target: Path) -> BaseException:
    """The same error, naming the user's file instead of the temporary one."""
    if isinstance(err, OSError) and err.strerror:
        try:
            new = _os_error(type(err), err.errno, f"cannot write {str(target)!r}: {err.strerror}")
        except Exception:  # an OSError subclass with another signature
            pass
        else:
            return new.with_traceback(err.__traceback__)
    text = str(err)
    if str(tmp) not in text and tmp.name not in text:
        return err
    text = text.replace(str(tmp), str(target)).replace(tmp.name, target.name)
    try:
        new = type(err)(text)
    except Exception:
        return err
    return new.with_traceback(err.__traceback__)


def _commit_folder(tmp: Path, target: Path, *, overwrite: bool) -> None:
    """Move a finished temporary folder store to ``target`` (one rename)."""
    old = None
    if overwrite and target.exists():
        old = _temp_name(target)
        os.rename(target, old)  # keep the old store until the new one is in place
    try:
        # rename(2) fails on an existing folder with content (ENOTEMPTY/EEXIST)
        # or a file (ENOTDIR): the no-clobber check is the move itself.
        if target.exists() and not target.is_dir():
            raise _exists_error(target)
        os.rename(tmp, target)
    except OSError as err:
        if old is not None:
            os.rename(old, target)
        if err.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
            raise _exists_error(target) from None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _commit(tmp: Path, target: Path, *, overwrite: bool) -> None:
    """Move the finished temporary file to ``target``."""
    if _is_folder_store(target):
        _commit_folder(tmp, target, overwrite=overwrite)
        return
    if overwrite:
        try:
            os.replace(tmp, target)
        except IsADirectoryError:
            raise _os_error(
                IsADirectoryError, errno.EISDIR,
                f"{str(target)!r} is a folder; give a file name inside it",
            ) from None
        return
    try:
        # A hard link fails if the name exists: the no-clobber check and the
        # move are one step, so a file created meanwhile is never replaced.
        os.link(tmp, target)
    except FileExistsError:
        raise _exists_error(target) from None
    except OSError:
        # No hard links here (FAT, exFAT, some network/FUSE mounts): reserve
        # the name exclusively, then move the finished file over the reservation.
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            raise _exists_error(target) from None
        os.close(fd)
        try:
            os.replace(tmp, target)
        except BaseException:
            os.unlink(target)  # our own empty reservation
            raise
        return
    os.unlink(tmp)


def atomic_write(
    path: PathLike, write: Callable[[Path], object], *, overwrite: bool = False
) -> Path:
    """Write a file all-or-nothing: ``write`` fills a temporary file, which is then moved.

    Parameters
    ----------
    path : str or path-like
        The file to write; its folder must exist.
    write : callable
        ``write(tmp)`` must write the complete file to ``tmp``, a
        :class:`pathlib.Path` in the same folder with the same suffix and a
        hidden name (``.name.tmp-XXXXXXXX.suffix``); it exists (empty) when
        ``write`` is called and may be opened, replaced or truncated. Use
        ``os.fspath(tmp)`` for libraries that want a ``str``.
    overwrite : bool, optional
        Replace an existing ``path``. Default False: refuse, also when the
        file appears while ``write`` runs (checked at the final move).

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    FileExistsError
        If ``path`` exists (before or after ``write``) and ``overwrite`` is
        False; nothing is written.
    IsADirectoryError
        If ``path`` is a folder (even with ``overwrite``).
    FileNotFoundError, PermissionError, OSError
        If the folder is missing or not writable. Errors of ``write`` are
        re-raised naming ``path``, never the temporary file.

    Notes
    -----
    On any error, and on ``KeyboardInterrupt``, the temporary file is removed
    and ``path`` is untouched.

    Examples
    --------
    >>> import tempfile, os
    >>> from napari_maskclean.io import atomic_write
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> _ = atomic_write(path, lambda tmp: tmp.write_text("hello"))
    >>> open(path).read()
    'hello'
    """
    target = Path(os.fspath(path))
    _checks(target, overwrite=overwrite)
    tmp = _create_temp(target)
    try:
        try:
            write(tmp)
            if not (tmp.is_dir() if _is_folder_store(target) else tmp.is_file()):
                raise _os_error(
                    OSError, errno.ENOENT,
                    f"the writer did not write {str(target)!r} (the temporary file vanished)",
                )
        except Exception as err:
            new = _retarget(err, tmp, target)
            if new is err:
                raise
            raise new from None
        _commit(tmp, target, overwrite=overwrite)
    except BaseException:
        _remove(tmp)
        raise
    return target
