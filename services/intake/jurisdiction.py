"""Jurisdiction as data: the buyers (street offices, civil-affairs bureaus) with the
communities each governs, and the agencies that may be contracted. Ops keep them here, where
the communities are; every change publishes the whole current record (jurisdiction.updated,
agency.updated), so evaluation checks each award against the newest. Intake also keeps the
contracts' communities and periods it learns from evaluation: they bound what a survey may
release (surveys.py)."""
from datetime import date

import sqlalchemy as sa

from shared import outbox
from shared.errors import ApiError
from shared.events.envelope import rfc3339
from shared.clock import utcnow
from shared.i18n import bilingual_pattern

from .models import Agency, Buyer, Community, ContractTerms, db, event_store

bilingual_pattern(r"^No such community: (.*)$", r"社区不存在：\1")


def _known_communities(community_ids: list[str]) -> list[str]:
    """The ids in order, once each; 422 naming those that are not communities here."""
    unique = list(dict.fromkeys(community_ids))
    known = set(db.session.scalars(sa.select(Community.id).where(Community.id.in_(unique))))
    missing = [c for c in unique if c not in known]
    if missing:
        raise ApiError(422, fields={"community_ids": [
            f"No such community: {', '.join(missing)}"]})
    return unique


def _exists(model, key: str, what: str, what_zh: str) -> None:
    if db.session.get(model, key) is not None:
        raise ApiError(409, f"{what} {key} exists", f"{what_zh} {key} 已存在")


def add_buyer(data: dict) -> Buyer:
    _exists(Buyer, data["id"], "Buyer", "购买方")
    buyer = Buyer(id=data["id"], name=data["name"], kind=data["kind"], community_ids=[])
    db.session.add(buyer)
    return update_buyer(buyer, data)


def update_buyer(buyer: Buyer, changes: dict) -> Buyer:
    """Apply the changes and publish the buyer's whole jurisdiction as it now stands."""
    if "community_ids" in changes:
        buyer.community_ids = _known_communities(changes["community_ids"])
    buyer.name = changes.get("name", buyer.name)
    buyer.kind = changes.get("kind", buyer.kind)
    buyer.updated_at = utcnow()
    db.session.flush()
    outbox.append(event_store, "jurisdiction.updated", f"buyer/{buyer.id}", {
        "buyer_id": buyer.id, "name": buyer.name, "kind": buyer.kind,
        "community_ids": list(buyer.community_ids), "updated_at": rfc3339(buyer.updated_at)})
    return buyer


def add_agency(data: dict) -> Agency:
    _exists(Agency, data["id"], "Agency", "社工机构")
    agency = Agency(id=data["id"], name=data["name"], active=True)
    db.session.add(agency)
    return update_agency(agency, data)


def update_agency(agency: Agency, changes: dict) -> Agency:
    agency.name = changes.get("name", agency.name)
    agency.active = changes.get("active", agency.active)
    agency.updated_at = utcnow()
    db.session.flush()
    outbox.append(event_store, "agency.updated", f"agency/{agency.id}", {
        "agency_id": agency.id, "name": agency.name, "active": agency.active,
        "updated_at": rfc3339(agency.updated_at)})
    return agency


def on_contract(event) -> None:
    """contract.awarded or .amended: the newest version's communities and period, whichever
    order the events arrive in."""
    d = event.data
    version = d.get("version", 1)
    terms = db.session.get(ContractTerms, d["contract_id"])
    if terms is not None and terms.version >= version:
        return
    terms = terms or ContractTerms(contract_id=d["contract_id"])
    terms.version, terms.community_ids = version, list(d["community_ids"])
    terms.period_start = date.fromisoformat(d["period_start"])
    terms.period_end = date.fromisoformat(d["period_end"])
    db.session.add(terms)
