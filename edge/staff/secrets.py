"""Hashing of PINs and tokens.

PINs are hashed with Argon2id (argon2-cffi, OWASP's minimum profile: a PIN
check costs tens of milliseconds, fine for a login, costly for a guesser).
Because login sends only a PIN, each PIN also has an HMAC keyed by the
store's secret, used to find the one staff member to verify; it is why two
staff cannot share a PIN. Tokens are random and stored as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)

SECRET_FILENAME = "secret.key"


def load_or_create_secret(data_dir: Path) -> bytes:
    """The store's HMAC key, created once with owner-only permissions."""
    path = Path(data_dir) / SECRET_FILENAME
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(key.hex())
        return key


def hash_pin(pin: str) -> str:
    return _hasher.hash(pin)


def pin_matches(pin_hash: str, pin: str) -> bool:
    try:
        return _hasher.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def pin_lookup(secret: bytes, pin: str) -> str:
    return hmac.new(secret, pin.encode(), hashlib.sha256).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
