"""The document store in a local folder: one file per document, replaced atomically under a lock."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pierrot.adapters.stores.codec import decode, encode, encode_chunks
from pierrot.errors import ConflictError, StoreError
from pierrot.ports import DocumentStore, Encoded, Versioned

LOCK_FILE = ".pierrot.lock"
TEMP_PREFIX = ".pierrot-"


class LocalStore(DocumentStore):
    """Documents as files in a folder, created (mode 0700) on the first write."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)

    def read(self, name: str) -> Versioned | None:
        """The parsed document and the sha256 of its bytes, or None if it does not exist."""
        data = self._read_bytes(name)
        if data is None:
            return None
        token = _token(data)
        return Versioned(decode(name, data, token), token)

    def read_bytes(self, name: str) -> tuple[bytes, str] | None:
        """The document's bytes and their sha256, unparsed."""
        data = self._read_bytes(name)
        return None if data is None else (data, _token(data))

    def token(self, name: str) -> str | None:
        """The sha256 of the document's bytes, hashed a megabyte at a time: never parsed, never whole in memory."""
        digest = hashlib.sha256()
        try:
            with open(self.path / name, "rb") as file:
                while chunk := file.read(1 << 20):
                    digest.update(chunk)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error(exc, f"cannot read {name}") from exc
        return digest.hexdigest()

    def write(self, name: str, doc: Any, expected: str | None) -> str:
        """Replace the document if its bytes still hash to ``expected`` (None: it must not exist yet)."""
        # Serialised before anything is touched, so a document that cannot be serialised changes nothing.
        chunks = encode_chunks(doc) if isinstance(doc, Encoded) else [encode(doc)]
        try:
            self._make_folder()
            # Never through a symbolic link: a planted one would make the lock create or truncate its target.
            lock = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
                # Hashed a megabyte at a time: a 100 MB catalogue is never held twice.
                if self.token(name) != expected:
                    raise ConflictError(name)
                token = self._replace(name, chunks)
            finally:
                os.close(lock)  # closing the descriptor releases the lock
        except OSError as exc:
            raise self._error(exc, f"cannot write {name}") from exc
        return token

    def check(self) -> None:
        """Fail with StoreError unless the folder, or the nearest folder it would be made in, is usable."""
        folder = self.path
        while not folder.exists() and not folder.is_symlink() and folder != folder.parent:
            folder = folder.parent
        head = f"store folder {self.path} cannot be used"
        if not folder.is_dir():
            raise StoreError(f"{head}: {folder} is not a folder: set PIERROT_STORE to a folder")
        if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
            raise StoreError(
                f"{head}: {folder} is not readable and writable: fix its permissions "
                "or set PIERROT_STORE to another folder"
            )

    # ---- internals ------------------------------------------------------------------------------

    def _read_bytes(self, name: str) -> bytes | None:
        try:
            return (self.path / name).read_bytes()
        except FileNotFoundError:
            return None  # the folder itself may not exist yet: it is made on the first write
        except OSError as exc:
            raise self._error(exc, f"cannot read {name}") from exc

    def _make_folder(self) -> None:
        missing: list[Path] = []
        folder = self.path
        while not folder.is_dir() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
        # Every folder made here is private, parents too: the documents are the user's own data.
        for folder in reversed(missing):
            try:
                os.mkdir(folder, 0o700)
            except FileExistsError:
                if not folder.is_dir():
                    raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder)) from None

    def _replace(self, name: str, chunks: Iterable[bytes]) -> str:
        # mkstemp opens a new random name with O_CREAT | O_EXCL | O_NOFOLLOW, mode 0600: never an existing file or
        # a link. os.replace then renames it over the document, replacing a link there rather than following it.
        fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=self.path)
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as file:
                for chunk in chunks:
                    digest.update(chunk)
                    file.write(chunk)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, self.path / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        # The rename is durable only once the folder's entry is on disk too.
        folder = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        return digest.hexdigest()

    def _error(self, exc: OSError, doing: str) -> StoreError:
        where = exc.filename or self.path
        head = f"{doing} in store folder {self.path}"
        if exc.errno == errno.ENOTDIR:
            # The error names the document; what is wrong is the folder, or one of its parents, being a file.
            where = next((p for p in (self.path, *self.path.parents) if p.exists()), self.path)
            return StoreError(f"{head}: {where} is a file, not a folder: set PIERROT_STORE to a folder")
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return StoreError(
                f"{head}: {exc.strerror} on {where}: fix its permissions or set PIERROT_STORE to another folder"
            )
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return StoreError(f"{head}: {exc.strerror}: free some space and run again")
        if exc.errno == errno.ELOOP:
            return StoreError(f"{head}: {where} is a symbolic link, which pierrot does not follow: remove it")
        if exc.errno == errno.EISDIR:
            return StoreError(f"{head}: {where} is a folder, not a file: move it away")
        return StoreError(f"{head}: {exc.strerror or exc} on {where}")


def _token(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
