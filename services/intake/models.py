"""Intake's tables. Personal data (names, phones, ID numbers, birth dates, addresses) is kept
only here, only encrypted (`*_sealed`), with keyed hashes for de-duplication."""
import secrets
from datetime import date

import sqlalchemy as sa

from shared.db import UtcDateTime, make_db, new_id
from shared.clock import utcnow
from shared.eventstore import EventStore
from shared.web.users import web_user_model

db = make_db()
event_store = EventStore(db, "/intake")
WebUser = web_user_model(db)  # who logs in to the pages


def pseudonym(prefix: str) -> str:
    """A reference that can leave intake: random, so it reveals nothing about the person."""
    return f"{prefix}-{secrets.token_hex(8)}"


class Community(db.Model):
    __tablename__ = "community"
    id = sa.Column(sa.String(64), primary_key=True)
    name = sa.Column(sa.String(200), nullable=False)
    street = sa.Column(sa.String(200))
    created_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)


class Buyer(db.Model):
    """A government buyer (street office, civil-affairs bureau) and the communities it
    governs: reference data only ops maintain, published as jurisdiction.updated. A buyer
    may contract only there (evaluation checks every award and amendment)."""
    __tablename__ = "buyer"
    id = sa.Column(sa.String(64), primary_key=True)
    name = sa.Column(sa.String(200), nullable=False)
    kind = sa.Column(sa.String(32), nullable=False)
    community_ids = sa.Column(sa.JSON, nullable=False, default=list)
    updated_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)


class Agency(db.Model):
    """A social-work agency (社工机构) that may be contracted: reference data only ops
    maintain, published as agency.updated."""
    __tablename__ = "agency"
    id = sa.Column(sa.String(64), primary_key=True)
    name = sa.Column(sa.String(200), nullable=False)
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    updated_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)


class ContractTerms(db.Model):
    """A contract's communities and period as evaluation publishes them (contract.awarded,
    .amended): what bounds the release of its surveys' contacts."""
    __tablename__ = "contract_terms"
    contract_id = sa.Column(sa.String(64), primary_key=True)
    version = sa.Column(sa.Integer, nullable=False)
    community_ids = sa.Column(sa.JSON, nullable=False)
    period_start = sa.Column(sa.Date, nullable=False)
    period_end = sa.Column(sa.Date, nullable=False)


class Grid(db.Model):
    """A grid (网格) or building (楼栋) within a community."""
    __tablename__ = "grid"
    id = sa.Column(sa.String(64), primary_key=True)
    community_id = sa.Column(sa.String(64), sa.ForeignKey("community.id"), nullable=False,
                             index=True)
    name = sa.Column(sa.String(200), nullable=False)
    kind = sa.Column(sa.String(16), nullable=False, default="grid")


class Household(db.Model):
    __tablename__ = "household"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    ref = sa.Column(sa.String(32), nullable=False, unique=True,
                    default=lambda: pseudonym("h"))
    community_id = sa.Column(sa.String(64), sa.ForeignKey("community.id"), nullable=False,
                             index=True)
    grid_id = sa.Column(sa.String(64), sa.ForeignKey("grid.id"), nullable=False)
    household_type = sa.Column(sa.String(16), nullable=False)
    address_sealed = sa.Column(sa.Text)
    created_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)


class Resident(db.Model):
    __tablename__ = "resident"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    ref = sa.Column(sa.String(32), nullable=False, unique=True,
                    default=lambda: pseudonym("r"))
    community_id = sa.Column(sa.String(64), sa.ForeignKey("community.id"), nullable=False,
                             index=True)
    grid_id = sa.Column(sa.String(64), sa.ForeignKey("grid.id"), nullable=False)
    household_id = sa.Column(sa.String(36), sa.ForeignKey("household.id"))
    gender = sa.Column(sa.String(8), nullable=False)
    age_band = sa.Column(sa.String(8), nullable=False)
    flags = sa.Column(sa.JSON, nullable=False, default=list)
    name_sealed = sa.Column(sa.Text, nullable=False)
    birth_date_sealed = sa.Column(sa.Text)
    phone_sealed = sa.Column(sa.Text)
    phone_hash = sa.Column(sa.String(64), unique=True)
    id_number_sealed = sa.Column(sa.Text)
    id_number_hash = sa.Column(sa.String(64), unique=True)
    registered_by = sa.Column(sa.String(120), nullable=False)
    registered_on = sa.Column(sa.Date, nullable=False, default=date.today)  # in the community
    registered_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)

    household = db.relationship(Household)
    name_grams = db.relationship("ResidentNameGram", cascade="all, delete-orphan")


class ResidentNameGram(db.Model):
    """The blind index of names: a keyed hash of each pair of adjacent characters of a
    resident's name, so a search decrypts only the residents whose names hold every pair
    of the fragment asked for, never the whole table (names.py)."""
    __tablename__ = "resident_name_gram"
    resident_id = sa.Column(sa.String(36), sa.ForeignKey("resident.id"), primary_key=True)
    gram = sa.Column(sa.String(64), primary_key=True, index=True)


class AccessLog(db.Model):
    """Every read or release of personal data (a resident's, or a need's free text): who,
    what, when, why."""
    __tablename__ = "access_log"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    at = sa.Column(UtcDateTime, nullable=False, default=utcnow, index=True)
    actor = sa.Column(sa.String(120), nullable=False, index=True)
    role = sa.Column(sa.String(32), nullable=False)
    action = sa.Column(sa.String(32), nullable=False)
    resident_ref = sa.Column(sa.String(32), index=True)
    need_id = sa.Column(sa.String(36), index=True)
    fields = sa.Column(sa.JSON, nullable=False)
    purpose = sa.Column(sa.String(200), nullable=False)


class Need(db.Model):
    __tablename__ = "need"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    community_id = sa.Column(sa.String(64), sa.ForeignKey("community.id"), nullable=False,
                             index=True)
    grid_id = sa.Column(sa.String(64), sa.ForeignKey("grid.id"))
    resident_id = sa.Column(sa.String(36), sa.ForeignKey("resident.id"))
    household_id = sa.Column(sa.String(36), sa.ForeignKey("household.id"))
    category = sa.Column(sa.String(32), nullable=False, index=True)
    urgency = sa.Column(sa.String(16), nullable=False)
    safety_flag = sa.Column(sa.Boolean, nullable=False, default=False)
    channel = sa.Column(sa.String(32), nullable=False)
    description = sa.Column(sa.Text, nullable=False)
    status = sa.Column(sa.String(16), nullable=False, default="reported", index=True)
    referred_to = sa.Column(sa.String(200))
    case_id = sa.Column(sa.String(64))
    topic_id = sa.Column(sa.String(64))  # the council topic casework took it up in
    reported_by = sa.Column(sa.String(120), nullable=False)
    reported_at = sa.Column(UtcDateTime, nullable=False, default=utcnow, index=True)

    resident = db.relationship(Resident)
    household = db.relationship(Household)
    history = db.relationship("NeedStatusChange", order_by="NeedStatusChange.id")

    @property
    def resident_ref(self):
        return self.resident.ref if self.resident else None

    @property
    def household_ref(self):
        return self.household.ref if self.household else None


class NeedStatusChange(db.Model):
    """Every change of a need's status: who (a user, or the event that caused it) and when."""
    __tablename__ = "need_status_change"
    id = sa.Column(sa.Integer, primary_key=True)
    need_id = sa.Column(sa.String(36), sa.ForeignKey("need.id"), nullable=False, index=True)
    status = sa.Column(sa.String(16), nullable=False)
    changed_by = sa.Column(sa.String(120), nullable=False)
    changed_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)
    note = sa.Column(sa.String(500))


class SurveyRelease(db.Model):
    """A resident drawn into an evaluation survey wave (from `survey.sample_drawn`): the
    evaluator of that wave's contract may have their name and phone until release_until."""
    __tablename__ = "survey_release"
    wave_id = sa.Column(sa.String(64), primary_key=True)
    resident_ref = sa.Column(sa.String(64), primary_key=True)
    contract_id = sa.Column(sa.String(64), nullable=False, index=True)
    release_until = sa.Column(sa.Date, nullable=False)


class ResidentCode(db.Model):
    """A one-time sign-in code asked for by phone number (resident_signin.py). A row is
    written for every request, for a number on the roster or not (resident_id empty), so
    rate limits and answers are the same for both. Only keyed hashes are kept: of the
    number, of the code, and of the client's address."""
    __tablename__ = "resident_code"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    phone_hash = sa.Column(sa.String(64), nullable=False, index=True)
    client_hash = sa.Column(sa.String(64), nullable=False, index=True)
    resident_id = sa.Column(sa.String(36), sa.ForeignKey("resident.id"))
    code_hash = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(UtcDateTime, nullable=False, default=utcnow, index=True)
    expires_at = sa.Column(UtcDateTime, nullable=False)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    used_at = sa.Column(UtcDateTime)


class ResidentInvitation(db.Model):
    """A clerk's one-time invitation (a QR code handed to a resident): its token is kept
    only as a keyed hash, good once, until it expires."""
    __tablename__ = "resident_invitation"
    id = sa.Column(sa.String(36), primary_key=True, default=new_id)
    token_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    resident_id = sa.Column(sa.String(36), sa.ForeignKey("resident.id"), nullable=False,
                            index=True)
    issued_by = sa.Column(sa.String(120), nullable=False)
    created_at = sa.Column(UtcDateTime, nullable=False, default=utcnow)
    expires_at = sa.Column(UtcDateTime, nullable=False)
    used_at = sa.Column(UtcDateTime)

    resident = db.relationship(Resident)
