"""Where the emulator writes on disk, and the one check every request-derived path goes through.

Every emulator process gets its own scratch directory under one root in the temp dir
(`sagemaker-emulator-<uid>/<pid>-<random>/`), marked with its owner's PID and start time. It is
removed at shutdown; a process killed with SIGKILL cannot do that, so every start also removes
the directories of owners that are gone.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

import psutil

MARKER = "owner.json"
MARKERLESS_GRACE_SECONDS = 60  # a directory being created has no marker for a moment


class UnsafePath(ValueError):
    """A name or key from a request would resolve outside the directory it belongs in."""


def inside(root: Path, relative: str) -> Path:
    """`relative` under `root`, joined as a POSIX platform writes it (`a//b` is `a/b`); refuses escapes.

    The result is resolved (`..` and symlinks followed) and must be a strict descendant of `root`."""
    base = root.resolve()
    candidate = Path(f"{base}/{relative}").resolve()
    if candidate == base or not candidate.is_relative_to(base):
        raise UnsafePath(f"{relative!r} does not name a file inside {root.name}/")
    return candidate


def scratch_root() -> Path:
    """The per-user root, refused if someone else owns it or made it a symlink (shared /tmp)."""
    root = Path(tempfile.gettempdir()) / f"sagemaker-emulator-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    info = root.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise RuntimeError(f"{root} is not a directory owned by this user: remove it or set TMPDIR")
    os.chmod(root, 0o700)
    return root


def _owner_alive(directory: Path) -> bool:
    try:
        owner = json.loads((directory / MARKER).read_text())
        return abs(psutil.Process(int(owner["pid"])).create_time() - float(owner["started"])) < 0.01
    except FileNotFoundError:
        return time.time() - directory.stat().st_mtime < MARKERLESS_GRACE_SECONDS
    except (psutil.Error, OSError, ValueError, KeyError, TypeError):
        return False


def sweep_stale(root: Path) -> list[Path]:
    """Remove the scratch directories whose emulator process is gone; returns what was removed."""
    removed = []
    for directory in root.iterdir():
        if directory.is_dir() and not directory.is_symlink() and not _owner_alive(directory):
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    return removed


def create_scratch_dir() -> Path:
    """This process's scratch directory, after sweeping those of dead processes."""
    root = scratch_root()
    sweep_stale(root)
    directory = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root))
    started = psutil.Process(os.getpid()).create_time()
    (directory / MARKER).write_text(json.dumps({"pid": os.getpid(), "started": started}))
    return directory
