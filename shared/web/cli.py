"""`flask --app services.<name> create-user`: ops create (or reset) a page user."""
import click
from flask.cli import with_appcontext

from .session import pages_config
from .users import save_user


@click.command("create-user", help="Create a page user, or reset one's password and scope.")
@click.option("--id", "user_id", required=True, help="The login name (also the token's sub).")
@click.option("--name", required=True, help="The name shown on the pages.")
@click.option("--role", required=True)
@click.option("--community", "communities", multiple=True,
              help="intake_clerk: repeat per community.")
@click.option("--agency", help="social_worker, agency_admin: the agency.")
@click.option("--buyer", help="buyer_auditor: the buyer.")
@click.option("--contract", help="evaluator (at evaluation): the contract it evaluates.")
@click.password_option(help="Prompted (twice) when not given.")
@with_appcontext
def create_user(user_id, name, role, communities, agency, buyer, contract, password):
    config = pages_config()
    if role not in config.roles:
        raise click.UsageError(f"role {role} does not log in here; roles: "
                               f"{', '.join(config.roles)}")
    if len(password) < 8:
        raise click.UsageError("the password needs at least 8 characters")
    try:
        save_user(config.db, config.users, user_id, name, password, role, communities,
                  agency, buyer, contract)
    except ValueError as exc:
        raise click.UsageError(str(exc))
    config.db.session.commit()
    click.echo(f"user {user_id} ({role}) saved")
