"""The content-addressed store: a file's name is its SHA-256, written whole, never replaced."""
import hashlib

import pytest

from shared.filestore import FolderStore


def test_a_file_is_stored_under_its_digest_and_read_back(tmp_path):
    store = FolderStore(tmp_path)
    digest = store.put(b"sign-in sheet")
    assert digest == hashlib.sha256(b"sign-in sheet").hexdigest()
    assert store.exists(digest) and store.open(digest).read() == b"sign-in sheet"
    assert (tmp_path / digest[:2] / digest).is_file()
    assert not any(p.name.startswith(".incoming-") for p in tmp_path.rglob("*"))


def test_the_same_bytes_twice_write_once_and_nothing_is_replaced(tmp_path):
    store = FolderStore(tmp_path)
    digest = store.put(b"photo")
    path = tmp_path / digest[:2] / digest
    before = path.stat().st_mtime_ns
    assert store.put(b"photo") == digest and path.stat().st_mtime_ns == before
    assert not store.exists(hashlib.sha256(b"other").hexdigest())


@pytest.mark.parametrize("digest", ["../../etc/passwd", "A" * 64, "0" * 63])
def test_only_a_digest_names_a_file(tmp_path, digest):
    with pytest.raises(ValueError):
        FolderStore(tmp_path).open(digest)
