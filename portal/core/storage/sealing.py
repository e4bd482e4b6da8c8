"""Sealing: AES-GCM under a session's own key, for everything of a session's kept in Redis. No Flask here.

Each session has a random 256-bit key that lives only in the person's key cookie, never in Redis, so
a Redis dump (even with the server's config) opens no token record. One thing is sealed under a key
of the server's instead (`derived_key`, from SECRET_KEY): the copy of a session's refresh token kept
so that a sign-out from elsewhere (the sessions page, back-channel logout) can revoke it without the
browser. A Redis dump alone opens nothing; with SECRET_KEY as well, refresh tokens. What is sealed is bound to where it is
kept by its associated data (the session id and what the value is), so a sealed value cannot be moved
to another session, or from one field to another. The token store and the answer cache both seal here.
"""

import base64
import json
import os
import zlib
from typing import Any

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # AES-GCM's standard nonce, random for every value sealed


class Unopenable(Exception):
    """A sealed value that this key, with this associated data, does not open (or that isn't JSON)."""


def new_key() -> bytes:
    """A random per-session sealing key."""
    return AESGCM.generate_key(bit_length=8 * KEY_BYTES)


def derived_key(secret: str, purpose: str) -> bytes:
    """A key of the server's for one purpose, from its secret (HKDF-SHA256): the same in every process."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=f"navexa-portal/{purpose}".encode()).derive(secret.encode())


def encode_key(key: bytes) -> str:
    """The key as the key cookie carries it: 43 URL-safe characters."""
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def decode_key(text: str | None) -> bytes | None:
    """The key a cookie carries, or None if it isn't one."""
    if not text:
        return None
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return None
    return key if len(key) == KEY_BYTES else None


def seal(key: bytes, value: Any, aad: bytes) -> bytes:
    """value as JSON, encrypted and authenticated under key, bound to aad: nonce + ciphertext."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, json.dumps(value).encode(), aad)


def seal_compressed(key: bytes, value: Any, aad: bytes, zdict: bytes = b"") -> bytes:
    """seal(), with the JSON deflated first (against a preset dictionary of what such values usually say,
    which helps small values most)."""
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=zdict) if zdict else zlib.compressobj(6, zlib.DEFLATED, -15)
    packed = deflate.compress(json.dumps(value, separators=(",", ":")).encode()) + deflate.flush()
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, packed, aad)


def unseal_compressed(key: bytes, sealed: bytes, aad: bytes, zdict: bytes = b"") -> Any:
    """The value seal_compressed() sealed (with the same zdict); Unopenable as unseal() says."""
    try:
        packed = AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
        inflate = zlib.decompressobj(-15, zdict=zdict) if zdict else zlib.decompressobj(-15)
        return json.loads(inflate.decompress(packed) + inflate.flush())
    except (InvalidTag, ValueError, zlib.error) as error:
        raise Unopenable() from error


_decode = msgspec.json.Decoder().decode  # the standard JSON seal() wrote, read back several times faster than json's


def unseal(key: bytes, sealed: bytes, aad: bytes) -> Any:
    """The value seal() sealed; Unopenable for another key, other associated data, damage or non-JSON."""
    try:
        return _decode(AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad))
    except (InvalidTag, ValueError) as error:  # msgspec's DecodeError is a ValueError
        raise Unopenable() from error
