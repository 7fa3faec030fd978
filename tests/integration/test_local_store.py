"""The folder store: private files, replaced atomically under a lock."""

from __future__ import annotations

import fcntl
import hashlib
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import pierrot
from pierrot.adapters.stores import open_store
from pierrot.adapters.stores.local import LocalStore
from pierrot.config import parse_store
from pierrot.domain import CATALOGUE_DOCUMENT, META_DOCUMENT
from pierrot.errors import StoreError

DOC = CATALOGUE_DOCUMENT


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_open_store_gives_a_folder_store_without_importing_boto3(tmp_path):
    code = (
        "import sys; from pierrot.config import parse_store; from pierrot.adapters.stores import open_store; "
        f"store = open_store(parse_store({str(tmp_path)!r})); "
        "print(type(store).__name__, store.location, 'boto3' in sys.modules)"
    )
    root = Path(pierrot.__file__).parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout

    assert out.split() == ["LocalStore", str(tmp_path), "False"]


def test_reading_never_creates_the_folder(tmp_path):
    store = open_store(parse_store(str(tmp_path / "a" / "b")))

    assert store.read(DOC) is None
    assert not (tmp_path / "a").exists()


def test_the_first_write_creates_private_folders_parents_too(tmp_path):
    folder = tmp_path / "a" / "b"

    LocalStore(folder).write(DOC, {}, None)

    assert mode(tmp_path / "a") == 0o700
    assert mode(folder) == 0o700


def test_documents_are_private_files_and_leave_only_the_lock_behind(tmp_path):
    store = LocalStore(tmp_path)
    token = store.write(DOC, {"v": 1}, None)
    store.write(DOC, {"v": 2}, token)
    store.write(META_DOCUMENT, {"total": 1}, None)

    assert set(os.listdir(tmp_path)) == {".pierrot.lock", META_DOCUMENT, DOC}
    assert mode(tmp_path / DOC) == 0o600
    assert mode(tmp_path / ".pierrot.lock") == 0o600


def test_the_token_is_the_sha256_of_the_file(tmp_path):
    token = LocalStore(tmp_path).write(DOC, {"v": 1}, None)

    assert token == hashlib.sha256((tmp_path / DOC).read_bytes()).hexdigest()


def test_an_edit_by_hand_makes_a_held_token_stale(tmp_path):
    store = LocalStore(tmp_path)
    token = store.write(DOC, {"v": 1}, None)
    (tmp_path / DOC).write_text('{"v": "edited"}')

    with pytest.raises(StoreError, match="changed by another run"):
        store.write(DOC, {"v": 2}, token)

    assert store.read(DOC).doc == {"v": "edited"}


def test_a_document_that_cannot_be_serialised_leaves_the_old_one_whole(tmp_path):
    store = LocalStore(tmp_path)
    token = store.write(DOC, {"v": 1}, None)
    before = (tmp_path / DOC).read_bytes()

    with pytest.raises(TypeError):
        store.write(DOC, {"v": 2, "when": object()}, token)

    assert (tmp_path / DOC).read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [".pierrot.lock", DOC]


def test_a_failed_replace_leaves_the_old_document_and_no_temporary_file(tmp_path, monkeypatch):
    store = LocalStore(tmp_path)
    token = store.write(DOC, {"v": 1}, None)

    def full_disk(src, dst):
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(StoreError) as caught:
        store.write(DOC, {"v": 2}, token)

    assert str(caught.value) == (
        f"cannot write {DOC} in store folder {tmp_path}: No space left on device: free some space and run again"
    )
    assert store.read(DOC).doc == {"v": 1}
    assert sorted(os.listdir(tmp_path)) == [".pierrot.lock", DOC]


def test_a_write_waits_for_the_lock_held_by_another_run(tmp_path):
    store = LocalStore(tmp_path)
    token = store.write(DOC, {"v": 1}, None)
    other = os.open(tmp_path / ".pierrot.lock", os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX)
    done = threading.Event()
    writer = threading.Thread(target=lambda: (store.write(DOC, {"v": 2}, token), done.set()))
    try:
        writer.start()
        assert not done.wait(0.2)
        assert store.read(DOC).doc == {"v": 1}
    finally:
        os.close(other)
    writer.join(5)

    assert done.is_set()
    assert store.read(DOC).doc == {"v": 2}


@pytest.mark.parametrize("where", ["folder", "parent"])
def test_a_file_where_the_folder_should_be_is_a_store_error(tmp_path, where):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    store = LocalStore(blocker if where == "folder" else blocker / "pierrot")

    for attempt in (lambda: store.read(DOC), lambda: store.write(DOC, {}, None), store.check):
        with pytest.raises(StoreError) as caught:
            attempt()
        assert str(blocker) in str(caught.value)
        assert "set PIERROT_STORE to a folder" in str(caught.value)
    assert blocker.read_text() == ""


def test_a_document_that_is_a_folder_is_a_store_error(tmp_path):
    (tmp_path / DOC).mkdir()

    with pytest.raises(StoreError, match="is a folder, not a file"):
        LocalStore(tmp_path).read(DOC)


def test_check_accepts_a_folder_still_to_be_made(tmp_path):
    LocalStore(tmp_path / "new" / "store").check()
    LocalStore(tmp_path).check()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_a_folder_without_write_permission_is_a_store_error(tmp_path):
    folder = tmp_path / "store"
    folder.mkdir(mode=0o500)
    store = LocalStore(folder)
    try:
        for attempt in (lambda: store.write(DOC, {}, None), store.check):
            with pytest.raises(StoreError, match="fix its permissions or set PIERROT_STORE"):
                attempt()
    finally:
        folder.chmod(0o700)


def test_permission_denied_says_what_to_do(tmp_path, monkeypatch):
    # Root (as in CI) may write anywhere, so the refusal is simulated where the store first writes.
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if Path(path).parent == tmp_path:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(StoreError) as caught:
        LocalStore(tmp_path).write(DOC, {}, None)

    assert str(caught.value) == (
        f"cannot write {DOC} in store folder {tmp_path}: Permission denied on {tmp_path / '.pierrot.lock'}: "
        "fix its permissions or set PIERROT_STORE to another folder"
    )


def test_a_lock_file_that_is_a_dangling_link_is_never_followed(tmp_path):
    folder = tmp_path / "store"
    folder.mkdir()
    target = tmp_path / "elsewhere" / "created-by-pierrot"
    (tmp_path / "elsewhere").mkdir()
    (folder / ".pierrot.lock").symlink_to(target)

    with pytest.raises(StoreError, match="symbolic link") as caught:
        LocalStore(folder).write(DOC, {"v": 1}, None)

    assert ".pierrot.lock" in str(caught.value)
    assert not target.exists()
    assert not (folder / DOC).exists()


def test_a_lock_file_that_links_to_a_file_leaves_that_file_alone(tmp_path):
    folder = tmp_path / "store"
    folder.mkdir()
    precious = tmp_path / "precious"
    precious.write_bytes(b"keep me")
    precious.chmod(0o644)
    (folder / ".pierrot.lock").symlink_to(precious)

    with pytest.raises(StoreError, match="symbolic link"):
        LocalStore(folder).write(DOC, {"v": 1}, None)

    assert precious.read_bytes() == b"keep me"
    assert mode(precious) == 0o644


def test_a_document_that_is_a_link_is_replaced_not_written_through(tmp_path):
    folder = tmp_path / "store"
    folder.mkdir()
    outside = tmp_path / "outside.json"
    outside.write_bytes(b'{"v": 0}')
    (folder / DOC).symlink_to(outside)
    store = LocalStore(folder)
    token = store.token(DOC)

    store.write(DOC, {"v": 1}, token)

    assert outside.read_bytes() == b'{"v": 0}'
    assert not (folder / DOC).is_symlink()
    assert mode(folder / DOC) == 0o600


def test_files_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        LocalStore(tmp_path).write(DOC, {"v": 1}, None)
    finally:
        os.umask(old)

    assert mode(tmp_path / DOC) == 0o600
    assert mode(tmp_path / ".pierrot.lock") == 0o600
