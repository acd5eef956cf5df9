"""What casework consumes: needs and residents from intake, contracts from evaluation."""
from datetime import date, datetime

import sqlalchemy as sa

from shared.residents import take_demographics

from .models import KnownResident, QueuedNeed, ServedCommunity, db


def on_need_reported(event):
    d = event.data
    db.session.add(QueuedNeed(
        need_id=d["need_id"], community_id=d["community_id"], grid_id=d["grid_id"],
        resident_ref=d["resident_ref"], category=d["category"], urgency=d["urgency"],
        safety_flag=d["safety_flag"], channel=d["channel"],
        reported_at=datetime.fromisoformat(d["reported_at"])))


def _queued(need_id: str) -> QueuedNeed:
    need = db.session.get(QueuedNeed, need_id)
    if need is None:  # not here yet: retried until need.reported has arrived
        raise LookupError(f"need {need_id} has not reached casework yet")
    return need


def on_need_triaged(event):
    need = _queued(event.data["need_id"])
    need.category, need.urgency = event.data["category"], event.data["urgency"]


def on_need_withdrawn(event):
    need = _queued(event.data["need_id"])
    if need.status == "awaiting":
        need.status = "withdrawn"


def on_resident(event):
    """registered or updated: the latest demographics, by intake's sequence, whichever
    order the events arrive in."""
    ref = event.data["resident_ref"]
    resident = db.session.get(KnownResident, ref) or KnownResident(ref=ref)
    if take_demographics(resident, event):
        db.session.add(resident)


def on_contract(event):
    """awarded or amended: the newest version's communities and period replace older ones,
    whichever order the events arrive in."""
    d = event.data
    version = d.get("version", 1)
    known = db.session.scalar(sa.select(sa.func.max(ServedCommunity.contract_version)).where(
        ServedCommunity.contract_id == d["contract_id"]))
    if known is not None and known >= version:
        return
    db.session.execute(sa.delete(ServedCommunity).where(
        ServedCommunity.contract_id == d["contract_id"]))
    for community_id in d["community_ids"]:
        db.session.add(ServedCommunity(
            contract_id=d["contract_id"], contract_version=version,
            community_id=community_id, agency_id=d["agency_id"], buyer_id=d["buyer_id"],
            period_start=date.fromisoformat(d["period_start"]),
            period_end=date.fromisoformat(d["period_end"])))


def on_reference_data(event):
    """jurisdiction.updated, agency.updated: evaluation checks contracts against them and
    casework learns who serves where from the contracts themselves, so nothing applies here.
    Casework takes them so that it holds intake's event log whole: its sequence watched for
    holes and its hash chain checked (`integrity`), as before there was reference data."""


HANDLERS = {
    "jurisdiction.updated": on_reference_data,
    "agency.updated": on_reference_data,
    "need.reported": on_need_reported,
    "need.triaged": on_need_triaged,
    "need.withdrawn": on_need_withdrawn,
    "resident.registered": on_resident,
    "resident.updated": on_resident,
    "contract.awarded": on_contract,
    "contract.amended": on_contract,
}
