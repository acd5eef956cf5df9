"""Residents sign in to their own channel with their phone number and a one-time code sent
by text message, or with a clerk's one-time invitation (a QR code). What comes out is a
resident token (shared/auth.py): the pseudonymous reference and the community, for the
resident doors only; never the phone number.

A number not on the roster gets the same answer as one that is, in the same time: a code
row is written either way (nothing is sent for an unknown number, and sending runs beside
the request), and the same limits count it. Codes and invitations are kept only as keyed
hashes, good once, for minutes (codes) or two days (invitations)."""
import hmac
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from shared import auth
from shared.errors import ApiError
from shared.clock import utcnow
from shared.i18n import bilingual

from . import idcard, sms
from .models import Resident, ResidentCode, ResidentInvitation, db
from .residents import vault

CODE_TTL = timedelta(minutes=5)
CODE_ATTEMPTS = 5               # wrong tries before a code is spent
WINDOW = timedelta(minutes=15)  # the rate limits' window
CODES_PER_NUMBER = 3            # per window, on the roster or not
CODES_PER_CLIENT = 10           # per window, from one client address
INVITATION_TTL = timedelta(days=2)
NOT_A_MOBILE = bilingual("Enter an 11-digit mobile number", "请输入11位手机号码")


class SignInRefused(ApiError):
    """A code or invitation that does not sign anyone in; one answer for every reason."""

    def __init__(self):
        super().__init__(401, "The code is wrong or has expired: ask for a new one",
                         "验证码错误或已过期，请重新获取", code="code_invalid")


def gateway():
    return current_app.extensions["intake_sms"]


def _blind(kind: str, value: str) -> str:
    return vault().blind(kind, value)


def _mobile(raw: str) -> str:
    phone = idcard.normalise_phone(raw or "")
    if not idcard.MOBILE.match(phone):
        raise ApiError(422, fields={"phone": [NOT_A_MOBILE]})
    return phone


def _recent(column, value: str, now) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ResidentCode).where(
        column == value, ResidentCode.created_at > now - WINDOW))


def request_code(raw_phone: str, client_address: str) -> tuple[str, str] | None:
    """Write a code for the number; (phone, text) to send once committed if the number is a
    resident's, else None. Refused (429) past the limits, which count every request alike,
    on the roster or not."""
    if gateway() is None:
        raise ApiError(503, "Sign-in by text message is not set up here",
                       "本系统未开通短信登录，请向社区索取邀请码", code="sms_unavailable")
    phone, now = _mobile(raw_phone), utcnow()
    phone_hash, client_hash = _blind("phone", phone), _blind("client", client_address or "-")
    if (_recent(ResidentCode.phone_hash, phone_hash, now) >= CODES_PER_NUMBER or
            _recent(ResidentCode.client_hash, client_hash, now) >= CODES_PER_CLIENT):
        raise ApiError(429, "Too many codes asked for: try again in a quarter of an hour",
                       "获取验证码过于频繁，请15分钟后再试", code="too_many_codes")
    resident = db.session.scalar(sa.select(Resident).where(Resident.phone_hash == phone_hash))
    row = ResidentCode(phone_hash=phone_hash, client_hash=client_hash, created_at=now,
                       expires_at=now + CODE_TTL, resident_id=resident.id if resident else None,
                       code_hash="")
    code = f"{secrets.randbelow(10 ** 6):06d}"
    db.session.add(row)
    db.session.flush()
    row.code_hash = _blind("code", f"{row.id}:{code}")
    if resident is None:
        return None
    return phone, f"【社区服务】您的登录验证码是 {code}，5分钟内有效，请勿告诉他人。"


def send(outgoing: tuple[str, str] | None) -> None:
    """Text the code, beside the request (the caller has committed it)."""
    if outgoing is not None:
        sms.dispatch(gateway(), *outgoing)


def verify_code(raw_phone: str, code: str) -> Resident | None:
    """The resident the newest live code of this number belongs to, if `code` is it (the
    code is then spent), else None; a wrong try counts, so the caller commits either way."""
    phone, now = _mobile(raw_phone), utcnow()
    row = db.session.scalar(sa.select(ResidentCode).where(
        ResidentCode.phone_hash == _blind("phone", phone), ResidentCode.used_at.is_(None),
        ResidentCode.expires_at > now).order_by(ResidentCode.created_at.desc()).limit(1))
    if row is None:
        return None
    row.attempts += 1
    given = _blind("code", f"{row.id}:{(code or '').strip()}")
    matches = hmac.compare_digest(row.code_hash, given)
    if matches or row.attempts >= CODE_ATTEMPTS:
        row.used_at = now
    if not matches or row.resident_id is None:
        return None
    return db.session.get(Resident, row.resident_id)


def invite(resident: Resident, by: str) -> tuple[str, ResidentInvitation]:
    """A one-time invitation for `resident`: the token to put in the QR code (shown once,
    kept only as a hash) and its row; the caller commits."""
    token, now = secrets.token_urlsafe(24), utcnow()
    invitation = ResidentInvitation(token_hash=_blind("invitation", token), resident=resident,
                                    resident_id=resident.id, issued_by=by, created_at=now,
                                    expires_at=now + INVITATION_TTL)
    db.session.add(invitation)
    return token, invitation


def redeem(token: str) -> Resident:
    """The resident an unused, unexpired invitation is for; it is then spent (the caller
    commits)."""
    now = utcnow()
    invitation = db.session.scalar(sa.select(ResidentInvitation).where(
        ResidentInvitation.token_hash == _blind("invitation", token or "")).with_for_update())
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        raise SignInRefused()
    invitation.used_at = now
    return invitation.resident


def token_for(resident: Resident) -> str:
    """The resident's token: reference and community, for the resident doors only."""
    return auth.mint("resident", resident.ref, issuer="intake",
                     community_ids=[resident.community_id])
