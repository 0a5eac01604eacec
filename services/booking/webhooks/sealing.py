"""Webhook signing secrets kept encrypted at rest: booking must read them back to sign, so they
are sealed (Fernet: AES-128-CBC with an HMAC-SHA256 tag) under a key from the settings, and a
copy of the database alone signs nothing."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class SealedSecretUnreadable(ValueError):
    """A sealed secret that this key did not seal (the key changed) or that was altered."""


class SecretBox:
    def __init__(self, key: str) -> None:
        # Any passphrase of the settings becomes Fernet's 32-byte key.
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SealedSecretUnreadable("a webhook secret sealed under another key, or altered") from None
