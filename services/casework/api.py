"""Casework's HTTP API: the intake queue and cases (the full domain comes with its issue)."""
import sqlalchemy as sa
from flask_smorest import Blueprint

from shared import auth
from shared.errors import ApiError

from .cases import open_case, served_communities
from .models import Case, QueuedNeed, db
from .schemas import CaseIn, CaseOut, QueuedNeedOut

blp = Blueprint("casework", __name__, description="Intake queue and cases")
AGENCY = ("social_worker", "agency_admin")


@blp.get("/intake-queue")
@blp.response(200, QueuedNeedOut(many=True))
def intake_queue():
    claims = auth.require(*AGENCY)
    return db.session.scalars(sa.select(QueuedNeed).where(
        QueuedNeed.status == "awaiting",
        QueuedNeed.community_id.in_(served_communities(claims.agency_id)))
        .order_by(QueuedNeed.reported_at)).all()


@blp.post("/cases")
@blp.arguments(CaseIn)
@blp.response(201, CaseOut)
def create_case(data):
    claims = auth.require(*AGENCY)
    return open_case(data, claims.agency_id, claims.sub)


@blp.get("/cases/<case_id>")
@blp.response(200, CaseOut)
def get_case(case_id):
    claims = auth.require(*AGENCY)
    case = db.session.scalar(sa.select(Case).where(Case.id == case_id,
                                                   Case.agency_id == claims.agency_id))
    if case is None:
        raise ApiError(404, f"Case {case_id} not found", f"未找到个案 {case_id}")
    return case
