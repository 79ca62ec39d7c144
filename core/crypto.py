"""Encryption at rest of what must be read back (payout destinations): AES-256-GCM.

The key is derived from DATA_ENCRYPTION_KEY (any high-entropy string, generated
under DATA_DIR when unset) with SHA-256. A stored value is "v1:" + base64(nonce ‖ ciphertext
‖ tag); `context` (the owning row's id) is authenticated as associated data, so a value moved
to another row does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1:"
NONCE_BYTES = 12


def _cipher(key_text: str) -> AESGCM:
    return AESGCM(hashlib.sha256(key_text.encode()).digest())


def encrypt(key_text: str, plaintext: str, context: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(key_text).encrypt(nonce, plaintext.encode(), context.encode())
    return VERSION + base64.b64encode(nonce + sealed).decode()


def decrypt(key_text: str, stored: str, context: str) -> str:
    """The plaintext; raises cryptography's InvalidTag if the key, context or value differ."""
    raw = base64.b64decode(stored.removeprefix(VERSION))
    nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    return _cipher(key_text).decrypt(nonce, sealed, context.encode()).decode()
