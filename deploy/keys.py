"""A fresh set of the platform's secrets, as lines for .env: `python -m deploy.keys >> .env`.

Each service's Ed25519 signing key (only its own containers get it) and public keys (every
container gets all three), the pages' session key, intake's keys for personal data, and the
passwords of the broker's and the database's accounts.
See docs/AUTH.md for what each signs and how to rotate it."""
import secrets

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared import keys
from shared.config import SERVICES

PASSWORDS = ("RABBITMQ_ADMIN_PASSWORD", *(f"RABBITMQ_{s.upper()}_PASSWORD" for s in SERVICES),
             "POSTGRES_PASSWORD", *(f"{s.upper()}_DB_PASSWORD" for s in SERVICES))


def generate() -> dict[str, str]:
    env = {}
    for service in SERVICES:
        key = Ed25519PrivateKey.generate()
        env[f"{service.upper()}_SIGNING_KEY"] = keys.raw_private(key)
        env[f"{service.upper()}_PUBLIC_KEYS"] = keys.raw_public(key.public_key())
    env["SOCIALWORK_SECRET_KEY"] = secrets.token_urlsafe(32)
    env["INTAKE_DATA_KEYS"] = Fernet.generate_key().decode()
    env["INTAKE_HASH_KEY"] = secrets.token_urlsafe(32)
    for account in PASSWORDS:
        env[account] = secrets.token_urlsafe(24)
    return env


def main() -> None:
    for name, value in generate().items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
