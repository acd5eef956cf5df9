"""Intake's resident door (/resident/...): a resident, with their own resident token, reports
a need and reads their own needs. The resident pages run these same views; the scenario's
residents call them over HTTP. The door takes no other role's token (shared/auth.py)."""
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from shared import auth
from shared.api import Blueprint
from shared.db import commit_keeping_loaded
from shared.errors import ApiError

from .models import Need, Resident, db
from .needs import record_need
from .schemas import NeedOut, ResidentNeedIn

blp = Blueprint("intake_residents", __name__, url_prefix="/resident",
                description="The residents' own door: their token only")


def me() -> Resident:
    """The signed-in resident, in the community their token names; 404 once off the roster
    there."""
    claims = auth.require("resident")
    resident = db.session.scalar(sa.select(Resident).where(
        Resident.ref == claims.sub, Resident.community_id == claims.community_ids[0]))
    if resident is None:
        raise ApiError(404, "You are not on this community's roster",
                       "您不在本社区的居民名册中")
    return resident


@blp.post("/needs")
@blp.arguments(ResidentNeedIn)
@blp.response(201, NeedOut)
def report_need(data):
    """A need in my own words: recorded as a clerk's is, channel `online`, reported by me,
    now."""
    resident = me()
    need = record_need({**data, "community_id": resident.community_id,
                        "resident_ref": resident.ref, "channel": "online"}, resident.ref)
    commit_keeping_loaded(db.session)
    return need


@blp.get("/needs")
@blp.response(200, NeedOut(many=True))
def my_needs():
    """My needs, newest first, with their history."""
    return db.session.scalars(sa.select(Need).where(Need.resident_id == me().id)
                              .order_by(Need.reported_at.desc())
                              .options(selectinload(Need.history))).all()
