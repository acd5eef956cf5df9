"""Registering and updating residents; revealing personal data only through `reveal`, which
writes the access log. Events carry the pseudonymous ref and coarse demographics only."""
from datetime import date

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from shared import clock
from shared import idnumber, outbox
from shared.auth import Claims
from shared.errors import ApiError
from shared.clock import utcnow
from shared.i18n import bilingual
from shared.vocabulary import EXPLICIT_FLAGS, age_band

from . import idcard, names
from .models import AccessLog, Community, Grid, Household, Resident, db, event_store
from .privacy import Vault

GRID_ELSEWHERE = bilingual("The grid is not in this community", "该网格不属于此社区")
HOUSEHOLD_ELSEWHERE = bilingual("No such household in this community", "此社区中没有该户")
BIRTH_MISMATCH = bilingual("The birth date differs from the one in the ID number",
                           "出生日期与身份证号中的不一致")
GENDER_MISMATCH = bilingual("The gender differs from the one in the ID number",
                            "性别与身份证号中的不一致")
NEEDS_GENDER = bilingual("Give the gender, or an ID number to read it from",
                         "请填写性别，或填写身份证号以推算性别")
UNKNOWN_COMMUNITY = bilingual("No such community", "社区不存在")


def vault() -> Vault:
    return current_app.extensions["intake_vault"]


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def age_band_of(born: date | None, day: date | None = None) -> str:
    return "unknown" if born is None else age_band(age_on(born, day or clock.today()))


def all_flags(explicit: list[str], born: date | None) -> list[str]:
    """The clerk's flags plus those the age implies (elderly from 60, child under 18)."""
    flags = set(explicit)
    if born is not None:
        age = age_on(born, clock.today())
        flags |= {"elderly"} if age >= 60 else set()
        flags |= {"child"} if age < 18 else set()
    return sorted(flags)


def community_or_422(community_id: str) -> Community:
    community = db.session.get(Community, community_id)
    if community is None:
        raise ApiError(422, fields={"community_id": [UNKNOWN_COMMUNITY]})
    return community


def grid_in(community_id: str, grid_id: str, field: str = "grid_id") -> Grid:
    grid = db.session.get(Grid, grid_id)
    if grid is None or grid.community_id != community_id:
        raise ApiError(422, fields={field: [GRID_ELSEWHERE]})
    return grid


def household_in(community_id: str, ref: str | None) -> Household | None:
    if ref is None:
        return None
    household = db.session.scalar(sa.select(Household).where(Household.ref == ref))
    if household is None or household.community_id != community_id:
        raise ApiError(422, fields={"household_ref": [HOUSEHOLD_ELSEWHERE]})
    return household


def _identity(data: dict) -> dict:
    """Check and normalise identifiers; derive birth date and gender from the ID number."""
    problems, out = {}, {}
    if data.get("id_number"):
        number = idcard.normalise_id(data["id_number"])
        problem = idcard.id_problem(number)
        if problem:
            problems["id_number"] = [problem]
        else:
            out["id_number"] = number
            born, gender = idnumber.birth_date_of(number), idnumber.gender_of(number)
            if data.get("birth_date") and data["birth_date"] != born:
                problems["birth_date"] = [BIRTH_MISMATCH]
            if data.get("gender") and data["gender"] != gender:
                problems["gender"] = [GENDER_MISMATCH]
            out["birth_date"], out["gender"] = born, gender
    if data.get("phone"):
        phone = idcard.normalise_phone(data["phone"])
        problem = idcard.phone_problem(phone)
        if problem:
            problems["phone"] = [problem]
        out["phone"] = phone
    if problems:
        raise ApiError(422, fields=problems)
    return out


class DuplicateResident(ApiError):
    """The ID number or phone is already registered. Within the clerk's communities the
    answer names the resident; elsewhere only that a possible duplicate exists, so a
    number typed in at one community never tells whom it belongs to at another. Either way
    the check is a read of personal data: `log_duplicate` writes it to the access log."""

    def __init__(self, existing: Resident, field: str, claims: Claims):
        if existing.community_id in claims.community_ids:
            super().__init__(409, f"Resident already registered as {existing.ref}",
                             f"该居民已登记，编号 {existing.ref}", code="duplicate_resident",
                             resident_ref=existing.ref)
        else:
            super().__init__(409, "A possible duplicate is registered in another community: "
                             "ask the community where the resident was registered before",
                             "其他社区可能已登记此人（身份证号或电话相同），请向居民原登记社区核实",
                             code="possible_duplicate")
        self.existing_ref, self.field = existing.ref, field


def log_duplicate(claims: Claims, duplicate: DuplicateResident) -> None:
    """Add the duplicate check to the access log; the caller commits it, even as it refuses
    the registration (so it adds it after rolling the registration back)."""
    log_access(claims, "duplicate_check", [duplicate.existing_ref], [duplicate.field],
               "registration: the same ID number or phone")


def _duplicate(id_hash: str | None, phone_hash: str | None, claims: Claims,
               exclude: str | None = None) -> None:
    conditions = [c for c in (Resident.id_number_hash == id_hash if id_hash else None,
                              Resident.phone_hash == phone_hash if phone_hash else None)
                  if c is not None]
    if not conditions:
        return
    query = sa.select(Resident).where(sa.or_(*conditions))
    if exclude:
        query = query.where(Resident.id != exclude)
    existing = db.session.scalars(query).first()
    if existing is not None:
        field = "id_number" if id_hash and existing.id_number_hash == id_hash else "phone"
        raise DuplicateResident(existing, field, claims)


def demographics(resident: Resident) -> dict:
    household = resident.household
    return {"resident_ref": resident.ref, "community_id": resident.community_id,
            "grid_id": resident.grid_id, "household_ref": household.ref if household else None,
            "household_type": household.household_type if household else "unknown",
            "age_band": resident.age_band, "gender": resident.gender,
            "flags": list(resident.flags)}


def build(data: dict, claims: Claims) -> Resident:
    """A new resident in the session, with its event; the caller commits."""
    community_or_422(data["community_id"])
    grid_in(data["community_id"], data["grid_id"])
    household = household_in(data["community_id"], data.get("household_ref"))
    ident = {**data, **_identity(data)}
    if not ident.get("gender"):
        raise ApiError(422, fields={"gender": [NEEDS_GENDER]})
    v = vault()
    id_hash, phone_hash = v.blind("id", ident.get("id_number")), v.blind("phone",
                                                                         ident.get("phone"))
    _duplicate(id_hash, phone_hash, claims)
    born = ident.get("birth_date")
    resident = Resident(
        community_id=data["community_id"], grid_id=data["grid_id"],
        household_id=household.id if household else None, gender=ident["gender"],
        age_band=age_band_of(born), flags=all_flags(data.get("flags", []), born),
        name_sealed=v.seal(data["name"].strip()),
        birth_date_sealed=v.seal(born.isoformat()) if born else None,
        phone_sealed=v.seal(ident.get("phone")), phone_hash=phone_hash,
        id_number_sealed=v.seal(ident.get("id_number")), id_number_hash=id_hash,
        registered_by=claims.sub, registered_on=data.get("registered_on") or clock.today())
    resident.household = household
    names.index(v, resident, data["name"])
    db.session.add(resident)
    _written_or_conflict(resident, data, claims)
    outbox.append(event_store, "resident.registered", f"resident/{resident.ref}",
                  {**demographics(resident), "registered_on": resident.registered_on.isoformat()})
    return resident


def register(data: dict, claims: Claims) -> Resident:
    return build(data, claims)


def _written_or_conflict(resident: Resident, data: dict, claims: Claims) -> None:
    """Write the resident's row now, in a savepoint, so one registered at the same moment by
    someone else (the same phone or ID number) is a 409 here, not an error at the commit."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        v = vault()
        ident = _identity(data)
        _duplicate(v.blind("id", ident.get("id_number")), v.blind("phone", ident.get("phone")),
                   claims, exclude=resident.id)
        raise


def update(resident: Resident, changes: dict, claims: Claims) -> Resident:
    """Change what was registered; a change of demographics publishes resident.updated."""
    before = demographics(resident)
    v = vault()
    if "grid_id" in changes:
        grid_in(resident.community_id, changes["grid_id"])
        resident.grid_id = changes["grid_id"]
    if "household_ref" in changes:
        household = household_in(resident.community_id, changes["household_ref"])
        resident.household, resident.household_id = household, household and household.id
    if "name" in changes:
        resident.name_sealed = v.seal(changes["name"].strip())
        names.index(v, resident, changes["name"])
    ident = _identity(changes)
    if "id_number" in ident or "phone" in ident:
        _duplicate(v.blind("id", ident.get("id_number")), v.blind("phone", ident.get("phone")),
                   claims, exclude=resident.id)
    if "phone" in ident:
        resident.phone_sealed, resident.phone_hash = v.seal(ident["phone"]), v.blind(
            "phone", ident["phone"])
    if "id_number" in ident:
        resident.id_number_sealed = v.seal(ident["id_number"])
        resident.id_number_hash = v.blind("id", ident["id_number"])
    born = ident.get("birth_date") or changes.get("birth_date")
    if born:
        resident.birth_date_sealed = v.seal(born.isoformat())
    else:
        born = _birth_date(resident)
    if ident.get("gender") or changes.get("gender"):
        resident.gender = ident.get("gender") or changes["gender"]
    explicit = changes.get("flags", [f for f in resident.flags if f in EXPLICIT_FLAGS])
    resident.age_band, resident.flags = age_band_of(born), all_flags(explicit, born)
    resident.updated_at = utcnow()
    _written_or_conflict(resident, changes, claims)
    after = demographics(resident)
    if after != before:
        outbox.append(event_store, "resident.updated", f"resident/{resident.ref}",
                      {**after, "updated_on": clock.today().isoformat()})
    return resident


def _birth_date(resident: Resident) -> date | None:
    raw = vault().open(resident.birth_date_sealed)
    return date.fromisoformat(raw) if raw else None


def reveal(resident: Resident, claims: Claims, action: str, purpose: str) -> dict:
    """The resident's personal data, decrypted, and the read added to the access log: the
    caller commits the log before it shows the data."""
    v = vault()
    personal = {"name": v.open(resident.name_sealed), "phone": v.open(resident.phone_sealed),
                "id_number": v.open(resident.id_number_sealed),
                "birth_date": v.open(resident.birth_date_sealed)}
    log_access(claims, action, [resident.ref], sorted(k for k, val in personal.items() if val),
               purpose)
    return personal


def log_access(claims: Claims, action: str, refs: list[str], fields: list[str],
               purpose: str) -> None:
    for ref in refs:
        db.session.add(AccessLog(actor=claims.sub, role=claims.role, action=action,
                                 resident_ref=ref, fields=fields, purpose=purpose))


def log_need_reads(claims: Claims, needs, purpose: str) -> None:
    """A need's description is free text that may name people: ops reading it is logged."""
    for need in needs:
        db.session.add(AccessLog(actor=claims.sub, role=claims.role, action="need_read",
                                 resident_ref=need.resident_ref, need_id=need.id,
                                 fields=["description"], purpose=purpose))


def names_matching(community_ids, fragment: str, limit: int) -> list[tuple[Resident, str]]:
    """(resident, name) for names containing `fragment`, through the blind index."""
    return names.matching(vault(), community_ids, fragment, limit)


def by_identifier(community_ids, kind: str, raw: str) -> list[Resident]:
    value = idcard.normalise_id(raw) if kind == "id" else idcard.normalise_phone(raw)
    column = Resident.id_number_hash if kind == "id" else Resident.phone_hash
    return db.session.scalars(sa.select(Resident).where(
        column == vault().blind(kind, value), Resident.community_id.in_(community_ids))).all()
