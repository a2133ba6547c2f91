"""RSA signing as bunq does it: PKCS#1 v1.5 signatures over SHA-256, base64 in a header.

bunq signs and verifies only the body bytes. Clients sign each request body (an empty body
for GET and DELETE) with the private key whose public half they sent to POST /installation,
and the server signs each response body with the key it returned there.
"""

from __future__ import annotations

import base64
import binascii

from Cryptodome.Hash import SHA256
from Cryptodome.PublicKey import RSA
from Cryptodome.Signature import pkcs1_15

RSA_KEY_BITS = 2048


class ServerSigner:
    """The emulator's RSA key pair, which signs every response body."""

    def __init__(self, private_key: RSA.RsaKey | None = None) -> None:
        if private_key is None:
            private_key = RSA.generate(RSA_KEY_BITS)

        self._private_key = private_key
        self.public_key_pem = private_key.publickey().export_key().decode()

    def sign(self, body: bytes) -> str:
        """Return the base64 signature of `body` for the X-Bunq-Server-Signature header."""
        digest = SHA256.new(body)
        signature = pkcs1_15.new(self._private_key).sign(digest)

        return base64.b64encode(signature).decode()


def import_public_key(pem: str) -> RSA.RsaKey:
    """Parse a client's public key (SubjectPublicKeyInfo or PKCS#1 PEM).

    Raises ValueError when the text is not an RSA public key.
    """
    key = RSA.import_key(pem)

    if key.has_private():
        raise ValueError("expected a public key, got a private key")

    return key


def is_valid_signature(public_key: RSA.RsaKey, body: bytes, signature_b64: str | None) -> bool:
    """Check a base64 PKCS#1 v1.5 SHA-256 signature over `body`; a missing one is invalid."""
    if not signature_b64:
        return False

    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False

    try:
        pkcs1_15.new(public_key).verify(SHA256.new(body), signature)
    except (ValueError, TypeError):
        return False

    return True
