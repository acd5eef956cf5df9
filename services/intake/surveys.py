"""Contacts for an independent survey: evaluation publishes the residents it drew for a wave
(`survey.sample_drawn`); intake releases the name and phone of exactly those residents, and
nothing else, to the evaluator commissioned for that wave's contract, until the wave's
last day or until it is closed (`survey.wave_closed`), writing every release to the access
log."""
from datetime import date, timedelta

import sqlalchemy as sa

from shared.auth import Claims
from shared.errors import ApiError

from .models import Resident, SurveyRelease, db
from .residents import log_access, vault

RELEASED_FIELDS = ("name", "phone")


def on_sample_drawn(event) -> None:
    d = event.data
    for ref in d["resident_refs"]:
        db.session.add(SurveyRelease(wave_id=d["wave_id"], resident_ref=ref,
                                     contract_id=d["contract_id"],
                                     release_until=date.fromisoformat(d["release_until"])))


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
    """The sampled residents' contacts, for the evaluator of the wave's contract only."""
    rows = db.session.scalars(sa.select(SurveyRelease).where(
        SurveyRelease.wave_id == wave_id,
        SurveyRelease.contract_id == claims.contract_id)).all()
    if not rows:  # another contract's wave looks the same as no wave at all
        raise ApiError(404, f"Survey wave {wave_id} not found", f"未找到调查 {wave_id}")
    if date.today() > rows[0].release_until:
        raise ApiError(403, f"The contacts of wave {wave_id} were released until "
                            f"{rows[0].release_until}", "该轮调查的联系方式已过开放期限",
                       code="release_expired")
    residents = db.session.scalars(sa.select(Resident).where(
        Resident.ref.in_([r.resident_ref for r in rows])).order_by(Resident.ref)).all()
    v = vault()
    contacts = [{"resident_ref": r.ref, "name": v.open(r.name_sealed),
                 "phone": v.open(r.phone_sealed)} for r in residents]
    log_access(claims, "survey_release", [c["resident_ref"] for c in contacts],
               list(RELEASED_FIELDS), f"survey wave {wave_id} of contract {claims.contract_id}")
    return contacts
