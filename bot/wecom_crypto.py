"""WeCom (企业微信) callback crypto: SHA-1 signatures and AES-256-CBC with 32-byte PKCS#7 padding.

Plaintext layout: 16 random bytes | message length (4 bytes, big-endian) | message (UTF-8) | CorpID.
The AES key is base64(EncodingAESKey + "="); the IV is its first 16 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from collections.abc import Callable

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK_BITS = 32 * 8  # WeCom pads to 32 bytes, not AES's 16


class CryptoError(ValueError):
    """A signature, ciphertext or CorpID that does not check out."""


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """Hex SHA-1 of the sorted, concatenated values, as WeCom signs requests and replies."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode("utf-8")).hexdigest()


class WeComCrypto:
    """Checks, decrypts and encrypts WeCom callback messages for one app."""

    def __init__(
        self,
        token: str,
        encoding_aes_key: str,
        corp_id: str,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if len(encoding_aes_key) != 43:
            raise CryptoError(f"EncodingAESKey must be 43 characters, got {len(encoding_aes_key)}")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error:
            raise CryptoError("EncodingAESKey is not base64") from None
        self.token = token
        self.corp_id = corp_id
        self._key = key
        self._random_bytes = random_bytes

    def check_signature(self, given: str, timestamp: str, nonce: str, encrypted: str) -> None:
        """Raise CryptoError unless `given` signs these values."""
        expected = signature(self.token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected.encode(), given.lower().encode("utf-8")):
            raise CryptoError("bad signature")

    def decrypt(self, encrypted: str) -> str:
        """The message inside a base64 ciphertext; raises CryptoError if it is malformed or for another CorpID."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except binascii.Error:
            raise CryptoError("ciphertext is not base64") from None
        if not data or len(data) % 16:
            raise CryptoError("ciphertext is not whole AES blocks")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).decryptor()
        unpadder = padding.PKCS7(BLOCK_BITS).unpadder()
        try:
            plain = unpadder.update(decryptor.update(data) + decryptor.finalize()) + unpadder.finalize()
        except ValueError:
            raise CryptoError("bad padding") from None
        if len(plain) < 20:
            raise CryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, receiver = plain[20 : 20 + length], plain[20 + length :]
        if len(message) != length:
            raise CryptoError("message length does not match")
        if receiver.decode("utf-8", errors="replace") != self.corp_id:
            raise CryptoError("message is for another CorpID")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError:
            raise CryptoError("message is not UTF-8") from None

    def encrypt(self, message: str) -> str:
        """A base64 ciphertext of the message for our CorpID."""
        body = message.encode("utf-8")
        plain = self._random_bytes(16) + struct.pack(">I", len(body)) + body + self.corp_id.encode("utf-8")
        padder = padding.PKCS7(BLOCK_BITS).padder()
        padded = padder.update(plain) + padder.finalize()
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """The signature WeCom expects on a reply."""
        return signature(self.token, timestamp, nonce, encrypted)
