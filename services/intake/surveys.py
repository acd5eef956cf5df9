"""Contacts for an independent survey: evaluation publishes the residents it drew for a wave
(`survey.sample_drawn`); intake releases the name and phone of those residents, and nothing
else, to the evaluator commissioned for that wave's contract, writing every release to the
access log. The release is bounded by the contract as intake knows it (contract.awarded,
.amended): only residents of the contract's communities, no more than the cap
(shared/release.py) for all the contract's waves together, and only until the wave's last
day, its closing (`survey.wave_closed`) or the contract's end plus the margin, whichever
comes first."""
import logging
from datetime import date, timedelta

import sqlalchemy as sa

from shared import clock
from shared.auth import Claims
from shared.errors import ApiError
from shared.release import last_release_day, sample_cap

from .models import ContractTerms, Resident, SurveyRelease, db
from .residents import log_access, vault

log = logging.getLogger(__name__)
RELEASED_FIELDS = ("name", "phone")


def _terms(contract_id: str) -> ContractTerms:
    terms = db.session.get(ContractTerms, contract_id)
    if terms is None:  # retried until the contract has arrived
        raise LookupError(f"contract {contract_id} has not reached intake yet")
    return terms


def on_sample_drawn(event) -> None:
    """Keep the residents drawn that live in the contract's communities, until the wave's
    last day but never past the contract's end and margin; a sample beyond the cap for
    the contract's residents releases nothing at all."""
    d = event.data
    terms = _terms(d["contract_id"])
    in_contract = Resident.community_id.in_(terms.community_ids)
    refs = db.session.scalars(sa.select(Resident.ref).where(
        Resident.ref.in_(d["resident_refs"]), in_contract)).all()
    frame = db.session.scalar(sa.select(sa.func.count()).select_from(Resident).where(
        in_contract))
    released = set(db.session.scalars(sa.select(SurveyRelease.resident_ref).where(
        SurveyRelease.contract_id == d["contract_id"])))
    if len(released | set(refs)) > sample_cap(frame):  # the contract's waves together
        log.warning("wave %s of %s would release %d of %d residents, over the cap: nothing "
                    "released", d["wave_id"], d["contract_id"], len(released | set(refs)),
                    frame)
        return
    until = min(date.fromisoformat(d["release_until"]), last_release_day(terms.period_end))
    for ref in refs:
        db.session.add(SurveyRelease(wave_id=d["wave_id"], resident_ref=ref,
                                     contract_id=d["contract_id"], release_until=until))


def on_wave_closed(event) -> None:
    """Closing the wave ends the release: nothing from the day it closed."""
    wave_id = event.data["wave_id"]
    if db.session.scalar(sa.select(SurveyRelease.wave_id).where(
            SurveyRelease.wave_id == wave_id).limit(1)) is None:
        raise LookupError(f"the sample of wave {wave_id} has not arrived yet")  # retried
    last_day = date.fromisoformat(event.data["closed_on"]) - timedelta(days=1)
    db.session.execute(sa.update(SurveyRelease).where(
        SurveyRelease.wave_id == wave_id,
        SurveyRelease.release_until > last_day).values(release_until=last_day))


def release(claims: Claims, wave_id: str) -> list[dict]:
    """The sampled residents' contacts, for the evaluator of the wave's contract only, within
    the contract as it stands today (an amendment may have narrowed it)."""
    rows = db.session.scalars(sa.select(SurveyRelease).where(
        SurveyRelease.wave_id == wave_id,
        SurveyRelease.contract_id == claims.contract_id)).all()
    terms = db.session.get(ContractTerms, claims.contract_id)
    if not rows or terms is None:  # another contract's wave looks the same as none at all
        raise ApiError(404, f"Survey wave {wave_id} not found", f"未找到调查 {wave_id}")
    until = min(rows[0].release_until, last_release_day(terms.period_end))
    if clock.today() > until:
        raise ApiError(403, f"The contacts of wave {wave_id} were released until {until}",
                       "该轮调查的联系方式已过开放期限", code="release_expired")
    residents = db.session.scalars(sa.select(Resident).where(
        Resident.ref.in_([r.resident_ref for r in rows]),
        Resident.community_id.in_(terms.community_ids)).order_by(Resident.ref)).all()
    v = vault()
    contacts = [{"resident_ref": r.ref, "name": v.open(r.name_sealed),
                 "phone": v.open(r.phone_sealed)} for r in residents]
    log_access(claims, "survey_release", [c["resident_ref"] for c in contacts],
               list(RELEASED_FIELDS), f"survey wave {wave_id} of contract {claims.contract_id}")
    return contacts
