"""Intake's HTTP API: communities and grids, households, residents (with personal data only
through logged reads), needs and their life cycle, the access log. Each view checks the
caller's role, fetches in its scope (access.py), and commits what it changed."""
from contextlib import contextmanager
from datetime import datetime, time, timedelta, timezone

import sqlalchemy as sa
from flask import request
from sqlalchemy.orm import selectinload

from shared import auth
from shared.api import Blueprint
from shared.config import public_url
from shared.db import commit_keeping_loaded
from shared.errors import ApiError
from shared.i18n import bilingual

from . import access, jurisdiction, resident_signin, surveys
from . import residents as people
from .access import AGENCY, CLERK, CLERK_OR_OPS
from .importer import import_roster
from .models import AccessLog, Agency, Buyer, Community, Grid, Household, Need, Resident, db
from .needs import close, record_need, triage, withdraw
from .schemas import (AccessLogOut, AccessLogQuery, AgencyIn, AgencyOut, AgencyUpdate, BuyerIn,
                      BuyerOut, BuyerUpdate, CloseIn, CommunityIn, CommunityOut, GridIn,
                      GridOut, HouseholdIn, HouseholdOut, ImportResult, InvitationOut, NeedIn,
                      NeedOut,
                      NeedQuery, NeedUpdate, ResidentDetail, ResidentIn, ResidentMatch,
                      ResidentOut, ResidentQuery, ResidentUpdate, SurveyContactOut, TriageIn,
                      WithdrawIn)

blp = Blueprint("intake", __name__, description="Communities, residents and their needs")
NO_FILE = bilingual("Attach the roster as the form field `file`", "请以表单字段 file 上传名册")
ONE_LOOKUP = bilingual("Search by exactly one of name, phone or id_number",
                       "请按姓名、电话或身份证号中的一项查询")


# -- communities and grids ---------------------------------------------------------------

@blp.post("/communities")
@blp.arguments(CommunityIn)
@blp.response(201, CommunityOut)
def create_community(data):
    auth.require("ops_admin")
    if db.session.get(Community, data["id"]):
        raise ApiError(409, f"Community {data['id']} exists", f"社区 {data['id']} 已存在")
    community = Community(**data)
    db.session.add(community)
    db.session.commit()
    return community


@blp.get("/communities")
@blp.response(200, CommunityOut(many=True))
def list_communities():
    claims = auth.require(*CLERK_OR_OPS)
    return db.session.scalars(sa.select(Community).where(
        Community.id.in_(access.communities(claims))).order_by(Community.id)).all()


@blp.post("/communities/<community_id>/grids")
@blp.arguments(GridIn)
@blp.response(201, GridOut)
def create_grid(data, community_id):
    claims = auth.require(*CLERK_OR_OPS)
    access.require_community(claims, community_id)
    access.fetch(claims, Community, community_id)
    if db.session.get(Grid, data["id"]):
        raise ApiError(409, f"Grid {data['id']} exists", f"网格 {data['id']} 已存在")
    grid = Grid(community_id=community_id, **data)
    db.session.add(grid)
    db.session.commit()
    return grid


@blp.get("/communities/<community_id>/grids")
@blp.response(200, GridOut(many=True))
def list_grids(community_id):
    claims = auth.require(*CLERK_OR_OPS)
    access.require_community(claims, community_id)
    return db.session.scalars(sa.select(Grid).where(Grid.community_id == community_id)
                              .order_by(Grid.id)).all()


# -- jurisdiction: buyers and the communities they govern; agencies (ops only) -----------

@blp.post("/buyers")
@blp.arguments(BuyerIn)
@blp.response(201, BuyerOut)
def create_buyer(data):
    """A buyer and the communities it governs; published as jurisdiction.updated."""
    auth.require("ops_admin")
    buyer = jurisdiction.add_buyer(data)
    db.session.commit()
    return buyer


@blp.get("/buyers")
@blp.response(200, BuyerOut(many=True))
def list_buyers():
    auth.require("ops_admin")
    return db.session.scalars(sa.select(Buyer).order_by(Buyer.id)).all()


@blp.get("/buyers/<buyer_id>")
@blp.response(200, BuyerOut)
def get_buyer(buyer_id):
    return access.fetch(auth.require("ops_admin"), Buyer, buyer_id)


@blp.patch("/buyers/<buyer_id>")
@blp.arguments(BuyerUpdate)
@blp.response(200, BuyerOut)
def update_buyer(changes, buyer_id):
    """Rename a buyer or give it its whole new list of communities."""
    buyer = jurisdiction.update_buyer(access.fetch(auth.require("ops_admin"), Buyer, buyer_id),
                                      changes)
    db.session.commit()
    return buyer


@blp.post("/agencies")
@blp.arguments(AgencyIn)
@blp.response(201, AgencyOut)
def create_agency(data):
    """An agency that may be contracted; published as agency.updated."""
    auth.require("ops_admin")
    agency = jurisdiction.add_agency(data)
    db.session.commit()
    return agency


@blp.get("/agencies")
@blp.response(200, AgencyOut(many=True))
def list_agencies():
    auth.require("ops_admin")
    return db.session.scalars(sa.select(Agency).order_by(Agency.id)).all()


@blp.patch("/agencies/<agency_id>")
@blp.arguments(AgencyUpdate)
@blp.response(200, AgencyOut)
def update_agency(changes, agency_id):
    agency = jurisdiction.update_agency(
        access.fetch(auth.require("ops_admin"), Agency, agency_id), changes)
    db.session.commit()
    return agency


# -- households and residents ------------------------------------------------------------

@blp.post("/households")
@blp.arguments(HouseholdIn)
@blp.response(201, HouseholdOut)
def create_household(data):
    claims = auth.require(*CLERK)
    access.require_community(claims, data["community_id"])
    people.community_or_422(data["community_id"])
    people.grid_in(data["community_id"], data["grid_id"])
    household = Household(community_id=data["community_id"], grid_id=data["grid_id"],
                          household_type=data["household_type"],
                          address_sealed=people.vault().seal(data["address"]))
    db.session.add(household)
    db.session.commit()
    return household


@blp.post("/residents")
@blp.arguments(ResidentIn)
@blp.response(201, ResidentOut)
def register_resident(data):
    claims = auth.require(*CLERK)
    access.require_community(claims, data["community_id"])
    with _duplicates_logged(claims):
        resident = people.register(data, claims)
    db.session.commit()
    return resident


@blp.post("/residents/import")
@blp.response(200, ImportResult)
def import_residents():
    """Multipart form: `file` (.csv UTF-8 or .xlsx) and `community_id`."""
    claims = auth.require(*CLERK)
    community_id = request.form.get("community_id", "")
    access.require_community(claims, community_id)
    people.community_or_422(community_id)
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(422, fields={"file": [NO_FILE]})
    result = import_roster(upload.filename or "", upload.read(), community_id, claims)
    db.session.commit()
    return result


@blp.get("/residents")
@blp.arguments(ResidentQuery, location="query")
@blp.response(200, ResidentMatch(many=True))
def search_residents(args):
    """Find residents of one's communities by part of the name, or exactly by phone or ID
    number. Every match shown is a read of personal data and is logged. An agency's worker
    finds residents by name only, in the communities its agency serves (the `community_ids`
    casework puts in its token), for a sign-in list."""
    claims = auth.require(*CLERK, *AGENCY)
    lookups = [k for k in ("name", "phone", "id_number") if k in args]
    if len(lookups) != 1:
        raise ApiError(422, fields={"query": [ONE_LOOKUP]})
    if claims.role in AGENCY and "name" not in args:
        raise ApiError(403, "An agency's worker finds residents by name only",
                       "社工只能按姓名查找居民")
    communities = list(claims.community_ids)
    if "name" in args:
        found = people.names_matching(communities, args["name"], args["limit"])
    else:
        kind = "phone" if "phone" in args else "id"
        found = [(r, people.vault().open(r.name_sealed))
                 for r in people.by_identifier(communities, kind, args[lookups[0]])]
    people.log_access(claims, "search", [r.ref for r, _ in found], ["name"], args["purpose"])
    db.session.commit()  # the reads are logged before anything is shown
    for resident, name in found:
        resident.name = name
    return [resident for resident, _ in found]


@blp.get("/residents/<ref>")
@blp.response(200, ResidentDetail)
def get_resident(ref):
    """A resident with personal data: the read is logged with its purpose."""
    claims = auth.require(*CLERK)
    resident = access.fetch(claims, Resident, ref)
    purpose = request.args.get("purpose", "resident record")[:200]
    personal = people.reveal(resident, claims, "read", purpose)
    db.session.commit()  # the read is logged before the data is shown
    resident.personal = personal
    return resident


@blp.patch("/residents/<ref>")
@blp.arguments(ResidentUpdate)
@blp.response(200, ResidentOut)
def update_resident(changes, ref):
    claims = auth.require(*CLERK)
    with _duplicates_logged(claims):
        resident = people.update(access.fetch(claims, Resident, ref), changes, claims)
    db.session.commit()
    return resident


@blp.post("/residents/<ref>/invitation")
@blp.response(201, InvitationOut)
def invite_resident(ref):
    """A one-time invitation to the residents' pages, for a clerk to hand over as a QR code:
    good once, for two days; the link is shown now and never again (only its hash is kept)."""
    claims = auth.require(*CLERK)
    resident = access.fetch(claims, Resident, ref)
    token, invitation = resident_signin.invite(resident, claims.sub)
    db.session.commit()
    return {"resident_ref": ref, "expires_at": invitation.expires_at,
            "url": f"{public_url('intake')}/r/invitation/{token}"}


@contextmanager
def _duplicates_logged(claims):
    """A registration refused as a duplicate is rolled back; its check is logged all the
    same."""
    try:
        yield
    except people.DuplicateResident as duplicate:
        db.session.rollback()
        people.log_duplicate(claims, duplicate)
        db.session.commit()
        raise


@blp.get("/survey-waves/<wave_id>/contacts")
@blp.response(200, SurveyContactOut(many=True))
def survey_contacts(wave_id):
    """Name and phone of the residents evaluation drew for a survey wave, for the evaluator
    of that wave's contract, until the wave closes; every release is logged."""
    contacts = surveys.release(auth.require("evaluator"), wave_id)
    db.session.commit()  # every release is logged before the contacts are shown
    return contacts


@blp.get("/access-log")
@blp.arguments(AccessLogQuery, location="query")
@blp.response(200, AccessLogOut(many=True))
@blp.paginate(page_size=100, max_page_size=1000)
def access_log(args, pagination_parameters):
    auth.require("ops_admin")
    query = sa.select(AccessLog)
    for key in ("actor", "resident_ref", "need_id", "action"):
        if key in args:
            query = query.where(getattr(AccessLog, key) == args[key])
    if "since" in args:
        query = query.where(AccessLog.at >= args["since"])
    return _page(query.order_by(AccessLog.id.desc()), pagination_parameters)


def _page(query, pagination):
    pagination.item_count = db.session.scalar(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    return db.session.scalars(query.offset(pagination.first_item)
                              .limit(pagination.page_size)).all()


# -- needs ---------------------------------------------------------------------------------

def _day_start(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


@blp.post("/needs")
@blp.arguments(NeedIn)
@blp.response(201, NeedOut)
def create_need(data):
    claims = auth.require(*CLERK)
    access.require_community(claims, data["community_id"])
    need = record_need(data, claims.sub)
    commit_keeping_loaded(db.session)  # answered with the rows as written, unreloaded
    return need


@blp.get("/needs")
@blp.arguments(NeedQuery, location="query")
@blp.response(200, NeedOut(many=True))
@blp.paginate(page_size=50, max_page_size=500)
def list_needs(args, pagination_parameters):
    """Needs of one's communities, newest first, filtered; pages via page and page_size
    (the X-Pagination header tells the total)."""
    claims = auth.require(*CLERK_OR_OPS)
    query = sa.select(Need).where(Need.community_id.in_(access.communities(claims)))
    for key in ("status", "category", "urgency", "grid_id", "community_id", "safety_flag"):
        if key in args:
            query = query.where(getattr(Need, key) == args[key])
    if "resident_ref" in args:
        query = query.join(Resident).where(Resident.ref == args["resident_ref"])
    if "reported_from" in args:
        query = query.where(Need.reported_at >= _day_start(args["reported_from"]))
    if "reported_to" in args:
        query = query.where(Need.reported_at < _day_start(args["reported_to"] +
                                                          timedelta(days=1)))
    needs = _page(query.order_by(Need.reported_at.desc(), Need.id).options(
        selectinload(Need.history)), pagination_parameters)
    return _descriptions_logged(claims, needs)


@blp.get("/needs/<need_id>")
@blp.response(200, NeedOut)
def get_need(need_id):
    claims = auth.require(*CLERK_OR_OPS)
    return _descriptions_logged(claims, [access.fetch(claims, Need, need_id)])[0]


def _descriptions_logged(claims, needs: list) -> list:
    """Needs' descriptions may name people: ops reading them (outside any community's
    work) is written to the access log before they are shown."""
    if claims.role == "ops_admin" and needs:
        people.log_need_reads(claims, needs, "operations")
        commit_keeping_loaded(db.session)
    return needs


@blp.patch("/needs/<need_id>")
@blp.arguments(NeedUpdate)
@blp.response(200, NeedOut)
def update_need(data, need_id):
    need = access.fetch(auth.require(*CLERK), Need, need_id)
    need.description = data["description"]
    db.session.commit()
    return need


@blp.post("/needs/<need_id>/triage")
@blp.arguments(TriageIn)
@blp.response(200, NeedOut)
def triage_need(data, need_id):
    claims = auth.require(*CLERK)
    if data["status"] == "referred" and not data.get("referred_to"):
        raise ApiError(422, fields={"referred_to": ["Missing data for required field."]})
    need = triage(access.fetch(claims, Need, need_id), data, claims.sub)
    db.session.commit()
    return need


@blp.post("/needs/<need_id>/withdraw")
@blp.arguments(WithdrawIn)
@blp.response(200, NeedOut)
def withdraw_need(data, need_id):
    claims = auth.require(*CLERK)
    need = withdraw(access.fetch(claims, Need, need_id), data["reason"], claims.sub,
                    data.get("note"))
    db.session.commit()
    return need


@blp.post("/needs/<need_id>/close")
@blp.arguments(CloseIn)
@blp.response(200, NeedOut)
def close_need(data, need_id):
    claims = auth.require(*CLERK)
    need = close(access.fetch(claims, Need, need_id), data["status"], claims.sub,
                 data.get("note"))
    db.session.commit()
    return need
