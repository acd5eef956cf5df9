"""Who may see what at intake. A clerk keeps the residents and needs of its communities (the
token's `community_ids`); ops see every community; an agency's worker finds residents by
name in the communities its token names (a sign-in list). Scope lives in the queries: a
record outside it is not found, an action outside it is refused."""
import sqlalchemy as sa

from shared.auth import Claims
from shared.errors import ApiError

from .models import Agency, Buyer, Community, Need, Resident, db

CLERK = ("intake_clerk",)
CLERK_OR_OPS = ("intake_clerk", "ops_admin")
AGENCY = ("social_worker", "agency_admin")  # name search for sign-in lists only
KEYS = {Resident: ("ref", "Resident", "居民"), Need: ("id", "Need", "需求"),
        Community: ("id", "Community", "社区"), Buyer: ("id", "Buyer", "购买方"),
        Agency: ("id", "Agency", "社工机构")}
REFERENCE_DATA = (Buyer, Agency)  # in no community: ops only, as the view requires


def communities(claims: Claims):
    """The communities the caller may see: a clerk's own, or all for ops (a subquery)."""
    if claims.role == "intake_clerk":
        return list(claims.community_ids)
    return sa.select(Community.id).scalar_subquery()


def require_community(claims: Claims, community_id: str) -> None:
    """A clerk acts only in its own communities."""
    if claims.role == "intake_clerk" and community_id not in claims.community_ids:
        raise ApiError(403, f"Community {community_id} is outside this token's scope",
                       f"社区 {community_id} 不在本令牌的权限范围内", code="out_of_scope")


def fetch(claims: Claims, model, key: str):
    """The resident, need or community with this key in the caller's scope (a buyer or an
    agency: by key alone); 404 otherwise (one outside the scope looks the same as none)."""
    column, what, what_zh = KEYS[model]
    query = sa.select(model).where(getattr(model, column) == key)
    if model not in REFERENCE_DATA:
        community = model.id if model is Community else model.community_id
        query = query.where(community.in_(communities(claims)))
    row = db.session.scalar(query)
    if row is None:
        raise ApiError(404, f"{what} {key} not found", f"未找到{what_zh} {key}")
    return row
