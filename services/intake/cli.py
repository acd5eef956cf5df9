"""Intake's own commands: key rotation for the encrypted personal data."""
import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from .models import Household, Resident, db
from .residents import vault

SEALED = {Resident: ("name_sealed", "birth_date_sealed", "phone_sealed", "id_number_sealed"),
          Household: ("address_sealed",)}


@click.command("rotate-keys", help="Re-encrypt personal data under the newest INTAKE_DATA_KEYS key.")
@with_appcontext
def rotate_keys():
    v, count = vault(), 0
    for model, columns in SEALED.items():
        for row in db.session.scalars(sa.select(model)):
            for column in columns:
                setattr(row, column, v.reseal(getattr(row, column)))
            count += 1
    db.session.commit()
    click.echo(f"re-encrypted {count} records")


def register(app) -> None:
    app.cli.add_command(rotate_keys)
