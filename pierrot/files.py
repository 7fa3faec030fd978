"""One way to replace a file: a private temporary file beside it, written and synced, then renamed over it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def replace_file(path: Path, data: bytes, *, mode: int = 0o600, sync_folder: bool = False) -> None:
    """Replace ``path`` with ``data`` whole or not at all: never half written, never through a symlink at ``path``.

    mkstemp creates the temporary file O_EXCL and 0600 next to ``path`` (so the rename stays on one file system);
    the rename replaces a symlink at ``path`` itself, never the file it points to. ``mode`` is set before the
    rename; ``sync_folder`` also syncs the folder, so the rename itself survives a power cut."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            if mode != 0o600:
                os.fchmod(file.fileno(), mode)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    if sync_folder:
        with contextlib.suppress(OSError):
            folder = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
