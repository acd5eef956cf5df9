"""Brings services' databases to their newest migration (Flask-Migrate), in one process:
`python -m deploy.migrate [service …]`, every service when none is named. Each service
is still its own app and database; one process pays the shared imports once, where a
`flask db upgrade` per service paid them three times. It signs nothing, so it is given no
signing key (only intake's data keys, to re-index names)."""
import argparse
import importlib

from flask_migrate import upgrade

from shared.config import SERVICES


def migrate(services=SERVICES) -> None:
    for service in services:
        app = importlib.import_module(f"services.{service}").create_app({"SIGNS_NOTHING": True})
        with app.app_context():
            upgrade()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.migrate", description=__doc__)
    parser.add_argument("services", nargs="*", help=f"of {', '.join(SERVICES)} (default: all)")
    services = parser.parse_args(argv).services  # (choices refuse an empty list on 3.11)
    if unknown := set(services) - set(SERVICES):
        parser.error(f"no such service: {', '.join(sorted(unknown))}")
    migrate(services or SERVICES)


if __name__ == "__main__":
    main()
