"""The services' signing keys (Ed25519, the `cryptography` library). Each service holds one
private key and every process knows every service's public keys: a service signs the events
it publishes (so a consumer can tell who sent an event) and the tokens it issues (so a
service can tell who vouches for a caller).

  <SERVICE>_SIGNING_KEY    the service's private key, only in its own processes
  <SERVICE>_PUBLIC_KEYS    its public keys, comma-separated, current first; every process

Keys are written as unpadded base64url of the raw 32 bytes (`python -m deploy.keys` makes a
set). Rotation: list a new public key first everywhere, then switch the private key; keep
the retired public key listed while anything it signed may still be verified (docs/AUTH.md).
Development keys, derived from each service's name and known to all, are used only where
config.development_keys() allows them."""
import base64
import functools
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)

from . import config


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_private(key: Ed25519PrivateKey) -> str:
    return _b64(key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                  serialization.NoEncryption()))


def raw_public(key: Ed25519PublicKey) -> str:
    return _b64(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def key_id(key: Ed25519PublicKey) -> str:
    """A short name of a public key: which key signed a token or an event."""
    return hashlib.sha256(raw_public(key).encode()).hexdigest()[:16]


def development_key(service: str) -> Ed25519PrivateKey:
    seed = hashlib.sha256(f"socialwork development signing key/{service}".encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def private_key_from(text: str) -> Ed25519PrivateKey:
    return _private(text, "the private key")


def _private(text: str, name: str) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(_unb64(text))
    except ValueError as exc:
        raise config.ConfigError(f"{name} is not a base64url Ed25519 private key") from exc


def _public(text: str, name: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(_unb64(text))
    except ValueError as exc:
        raise config.ConfigError(f"{name} holds a value that is not an Ed25519 public key") \
            from exc


@functools.cache
def signing_key(service: str) -> Ed25519PrivateKey:
    """The service's own private key."""
    name = f"{service.upper()}_SIGNING_KEY"
    value = config.secret(name, "")
    return _private(value, name) if value else development_key(service)


@functools.cache
def signer(service: str) -> tuple[Ed25519PrivateKey, str]:
    """The service's private key and its id, as a signature names it."""
    key = signing_key(service)
    return key, key_id(key.public_key())


@functools.cache
def public_keys(service: str) -> dict[str, Ed25519PublicKey]:
    """{key id: public key} of a service, the current one first."""
    name = f"{service.upper()}_PUBLIC_KEYS"
    listed = [k for k in config.secret(name, "").split(",") if k.strip()]
    found = [_public(k, name) for k in listed] or [development_key(service).public_key()]
    return {key_id(k): k for k in found}


def all_public_keys() -> dict[str, dict[str, Ed25519PublicKey]]:
    return {service: public_keys(service) for service in config.SERVICES}


def check_configured(service: str) -> None:
    """Fail at start, naming the variable, unless the service's keys are there (or
    development keys are allowed); a private key must match one of its public keys."""
    own = signing_key(service)
    for other in config.SERVICES:
        public_keys(other)
    if key_id(own.public_key()) not in public_keys(service):
        raise config.ConfigError(f"{service.upper()}_SIGNING_KEY does not match any key in "
                                 f"{service.upper()}_PUBLIC_KEYS")


def forget() -> None:
    """Drop the keys read so far (tests change the environment)."""
    for cached in (signing_key, signer, public_keys):
        cached.cache_clear()
