"""Page users: each service keeps the people who log in to it (clerks at intake, social
workers and agency admins at casework, buyers at evaluation) in its own `web_user` table.

Passwords are hashed with werkzeug's scrypt. Failed logins are limited twice (login.py): per
account and client address (Flask-Limiter), so a stranger guessing from one address is
stopped after a few tries without touching the account, and per account from anywhere,
counted here in the database (so it holds across gunicorn workers and replicas): it takes
many addresses to reach, and locks only briefly."""
import functools
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from shared import auth
from shared.db import UtcDateTime
from shared.clock import utcnow

# with at most 5 failures per account from one address every 15 minutes (login.py), a
# stranger needs four addresses or more to lock an account, and it lasts 5 minutes
MAX_FAILURES = 20
LOCKOUT = timedelta(minutes=5)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the login is unknown, so a wrong name takes as long as a wrong
    password; made on first use, since hashing costs every process noticeable time at
    start."""
    return generate_password_hash("not-a-password")


def web_user_model(db, contracts: bool = False):
    """The page users' table; `contracts`: it also holds an evaluator's one contract (only
    evaluation issues evaluator tokens)."""
    class WebUser(db.Model):
        __tablename__ = "web_user"
        id = sa.Column(sa.String(120), primary_key=True)
        name = sa.Column(sa.String(100), nullable=False)
        password_hash = sa.Column(sa.String(255), nullable=False)
        role = sa.Column(sa.String(32), nullable=False)
        community_ids = sa.Column(sa.JSON, nullable=False, default=list)
        agency_id = sa.Column(sa.String(64))
        buyer_id = sa.Column(sa.String(64))
        active = sa.Column(sa.Boolean, nullable=False, default=True)
        failed_logins = sa.Column(sa.Integer, nullable=False, default=0)
        locked_until = sa.Column(UtcDateTime)
        created_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)
        if contracts:
            contract_id = sa.Column(sa.String(64))

        def scope(self) -> dict:
            return {"community_ids": list(self.community_ids or []),
                    "agency_id": self.agency_id, "buyer_id": self.buyer_id,
                    "contract_id": getattr(self, "contract_id", None)}

    return WebUser


def save_user(db, model, user_id: str, name: str, password: str, role: str,
              community_ids=(), agency_id=None, buyer_id=None, contract_id=None):
    """Create a user or reset one (new password, role, scope; unlocked)."""
    auth.check_scope(role, community_ids=list(community_ids), agency_id=agency_id,
                     buyer_id=buyer_id, contract_id=contract_id)
    user = db.session.get(model, user_id) or model(id=user_id)
    user.name, user.role, user.password_hash = name, role, generate_password_hash(password)
    user.community_ids, user.agency_id, user.buyer_id = list(community_ids), agency_id, buyer_id
    if hasattr(model, "contract_id"):
        user.contract_id = contract_id
    user.active, user.failed_logins, user.locked_until = True, 0, None
    db.session.add(user)
    return user


class LockedOut(Exception):
    def __init__(self, until: datetime):
        super().__init__(until.isoformat())
        self.until = until


def authenticate(db, model, user_id: str, password: str):
    """The user if the password is right; None if not; LockedOut after too many failures.
    The row is locked while it is checked, so concurrent attempts are all counted; the
    caller commits the count, whatever the outcome."""
    user = db.session.scalar(sa.select(model).where(model.id == user_id).with_for_update())
    if user is None or not user.active:
        check_password_hash(_dummy_hash(), password)
        return None
    now = datetime.now(timezone.utc)
    if user.locked_until and user.locked_until > now:
        raise LockedOut(user.locked_until)
    if check_password_hash(user.password_hash, password):
        user.failed_logins, user.locked_until = 0, None
        return user
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILURES:
        user.failed_logins, user.locked_until = 0, now + LOCKOUT
        raise LockedOut(user.locked_until)
    return None
