"""Intake's HTTP API: needs (residents come with the intake issue)."""
import sqlalchemy as sa
from flask_smorest import Blueprint

from shared import auth
from shared.errors import ApiError

from .models import Need, NeedStatusChange, db
from .needs import record_need
from .schemas import NeedIn, NeedOut, NeedQuery

blp = Blueprint("needs", __name__, url_prefix="/needs", description="Residents' needs")
CLERKS = ("intake_clerk", "ops_admin")


def _scoped(query):
    """A clerk sees only its communities; the filter lives in the query, not the view."""
    claims = auth.claims()
    if claims.role == "intake_clerk":
        query = query.where(Need.community_id.in_(claims.community_ids))
    return query


def _with_history(need: Need) -> Need:
    need.history = db.session.scalars(sa.select(NeedStatusChange).where(
        NeedStatusChange.need_id == need.id).order_by(NeedStatusChange.id)).all()
    return need


@blp.post("")
@blp.arguments(NeedIn)
@blp.response(201, NeedOut)
def create_need(data):
    auth.require(*CLERKS)
    claims = auth.require_community(data["community_id"])
    return _with_history(record_need(data, claims.sub))


@blp.get("")
@blp.arguments(NeedQuery, location="query")
@blp.response(200, NeedOut(many=True))
def list_needs(args):
    auth.require(*CLERKS)
    query = _scoped(sa.select(Need))
    if "status" in args:
        query = query.where(Need.status == args["status"])
    needs = db.session.scalars(query.order_by(Need.reported_at.desc()).limit(args["limit"]))
    return [_with_history(n) for n in needs]


@blp.get("/<need_id>")
@blp.response(200, NeedOut)
def get_need(need_id):
    auth.require(*CLERKS)
    need = db.session.scalar(_scoped(sa.select(Need).where(Need.id == need_id)))
    if need is None:
        raise ApiError(404, f"Need {need_id} not found", f"未找到需求 {need_id}")
    return _with_history(need)
