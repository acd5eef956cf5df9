"""Personal data at rest: encrypted with Fernet (the `cryptography` library), with a keyed
hash (HMAC-SHA256) beside each identifier for exact de-duplication without decrypting.

INTAKE_DATA_KEYS: comma-separated Fernet keys, newest first; older keys still decrypt, so a
key is rotated by putting a new one in front and running `flask --app services.intake
rotate-keys`. INTAKE_HASH_KEY: the HMAC key (rotating it means re-hashing, see the runbook).
"""
import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, MultiFernet

from shared.config import secret


def _dev_key(label: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(label.encode()).digest()).decode()


class Vault:
    def __init__(self, data_keys: list[str], hash_key: str):
        self._fernet = MultiFernet([Fernet(k.strip()) for k in data_keys if k.strip()])
        self._hash_key = hash_key.encode()

    @classmethod
    def from_env(cls) -> "Vault":
        keys = secret("INTAKE_DATA_KEYS", _dev_key("development data key, not secret"))
        return cls(keys.split(","), secret("INTAKE_HASH_KEY", "development hash key"))

    def seal(self, value: str | None) -> str | None:
        return None if value is None else self._fernet.encrypt(value.encode()).decode()

    def open(self, token: str | None) -> str | None:
        return None if token is None else self._fernet.decrypt(token.encode()).decode()

    def reseal(self, token: str | None) -> str | None:
        """Re-encrypt under the newest key (key rotation)."""
        return None if token is None else self._fernet.rotate(token.encode()).decode()

    def blind(self, kind: str, value: str | None) -> str | None:
        """Keyed hash of a normalised identifier: equal inputs, equal hashes; no way back."""
        if value is None:
            return None
        return hmac.new(self._hash_key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
