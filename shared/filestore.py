"""Content-addressed storage of evidence files: the SHA-256 of the bytes is a file's identity.

One small interface (`put`, `open`, `exists`), which an object-store backend would implement
later; the default backend is a folder in the service's data directory. A file is written
whole (to a temporary name, flushed to disk, then renamed into place) before the transaction
of the record it belongs to commits; it is never overwritten (the same digest is the same
bytes) and never deleted by the API (hiding a file is an event, docs/EVIDENCE.md)."""
import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from .config import data_dir


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FileStore(Protocol):
    def put(self, data: bytes) -> str: ...
    def open(self, digest: str) -> BinaryIO: ...
    def exists(self, digest: str) -> bool: ...


class FolderStore:
    """Files under `root/ab/abcdef…` (the first two hex digits fan the folder out)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a SHA-256 digest: {digest!r}")
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = digest_of(data)
        path = self._path(digest)
        if path.exists():  # the same digest is the same bytes: nothing to write
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)  # atomic: a reader sees all of it or none
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest

    def open(self, digest: str) -> BinaryIO:
        return self._path(digest).open("rb")

    def exists(self, digest: str) -> bool:
        return self._path(digest).is_file()


def folder_store(service: str) -> FolderStore:
    """The service's store: SOCIALWORK_FILES_DIR, or `files/<service>` in its data dir."""
    root = os.environ.get("SOCIALWORK_FILES_DIR")
    return FolderStore(Path(root) if root else data_dir() / "files" / service)
