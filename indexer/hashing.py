"""Content hashes: how a moved file is recognised without re-encoding it."""

from __future__ import annotations

import hashlib

_CHUNK = 1 << 20


def content_hash(path: str) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
