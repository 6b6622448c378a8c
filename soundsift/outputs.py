"""Output folders written as a group: locked while written, staged beside their place, committed by
one rename, and never replaced without being told to.

A result that is several files (a track's stems and scores) is written into a hidden staging folder
``.NAME.XXXX.part`` next to ``NAME`` and renamed into place at the end, so the folder holds all of a
run's files or none of them. A lock file ``.NAME.lock`` (``flock``, released by the kernel when the
process dies, even by kill -9) keeps two runs from writing one folder; whoever holds it removes the
staging folders that dead runs left behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from pathlib import Path

from soundsift.errors import SoundSiftError


class FolderLock:
    """An exclusive lock on the output folder ``path`` (which need not exist yet)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.lock_path = self.path.parent / f".{self.path.name}.lock"
        self._fd = None
        self._made = []  # folders made to hold the lock: removed again if they are left empty

    def acquire(self) -> "FolderLock":
        parent = self.path.parent
        while not parent.exists() and parent != parent.parent:
            self._made.append(parent)
            parent = parent.parent
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SoundSiftError(f"{self.path.parent}: cannot write there ({err.strerror or err})") from None
        while True:
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as err:
                raise SoundSiftError(f"{self.path.parent}: cannot write there ({err.strerror or err})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise SoundSiftError(f"{self.path} is being written by another run; try again when it has "
                                     "finished") from None
            # The holder before us may have removed the file after we opened it: lock the file that is there.
            try:
                same = os.stat(self.lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return self
            os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.lock_path)  # while still held: nobody can hold a lock on this inode after us
            os.close(self._fd)
            self._fd = None
        for folder in self._made:  # deepest first; a folder that now holds results stays
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._made = []

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def clean_stale(path: str | os.PathLike) -> list[Path]:
    """Remove the staging folders and temp files that runs killed while writing ``path`` left beside
    it. Call only while holding ``FolderLock(path)``: then no live run is writing them."""
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    for leftover in path.parent.glob(f".{glob_escape(path.name)}.*"):
        if leftover.name.endswith((".part", ".old")) and leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover)
    return removed


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in name)


def stage_folder(path: str | os.PathLike) -> Path:
    """A new empty hidden folder beside ``path`` to write its files into before :func:`commit_folder`."""
    path = Path(path)
    try:
        staged = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    except OSError as err:
        raise SoundSiftError(f"{path.parent}: cannot write there ({err.strerror or err})") from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staged, 0o777 & ~umask)  # mkdtemp makes 0700 folders; outputs get the usual permissions
    return staged


def check_replaceable(path: str | os.PathLike, force: bool) -> None:
    """SoundSiftError unless ``path`` is free (or an empty folder), or is a folder of plain files and
    ``force`` is set."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
        return
    if not force:
        raise SoundSiftError(f"{path} already exists (use --force to replace it)")
    if path.is_symlink() or not path.is_dir():
        raise SoundSiftError(f"{path} exists and is not a folder of results; not replacing it")
    odd = next((p for p in path.iterdir() if p.is_symlink() or not p.is_file()), None)
    if odd is not None:
        raise SoundSiftError(f"{path} holds {odd.name!r}, which is not a file this run would write; "
                             "not replacing the folder")


def commit_folder(staged: Path, path: str | os.PathLike, force: bool) -> Path:
    """Move the staged folder into place as ``path`` in one rename (an existing ``path`` is replaced
    only with ``force``, and only if it holds plain files: see :func:`check_replaceable`)."""
    path = Path(path)
    check_replaceable(path, force)
    old = None
    if path.exists() and any(path.iterdir()):  # an empty folder is simply renamed over
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
        os.rename(path, old / "folder")
    try:
        os.rename(staged, path)
    except OSError:
        if old is not None:
            os.rename(old / "folder", path)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return path


@contextlib.contextmanager
def written_folder(path: str | os.PathLike, force: bool = False):
    """Lock ``path`` and yield a staging folder to write its files into; when the block ends without
    an error it is committed as ``path`` (:func:`commit_folder`), otherwise removed."""
    with FolderLock(path):
        staged = stage_folder(path)
        try:
            yield staged
            commit_folder(staged, path, force)
        finally:
            shutil.rmtree(staged, ignore_errors=True)
