"""Alembic environment of this service: the one all services share."""
from shared.migrations_env import run

run()
