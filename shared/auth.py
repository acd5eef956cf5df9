"""JWT bearer tokens (HS256, PyJWT): who the caller is, in which role, over which scope.

Claims: sub, role, exp, iat and the scope claims a role needs:
  intake_clerk   community_ids   the communities whose residents and needs it keeps
  social_worker  agency_id       its agency's records
  agency_admin   agency_id       its agency's records and workers
  buyer_auditor  buyer_id        its contracts; read-only on casework evidence
  evaluator      contract_id     the independent evaluator the buyer commissioned for one
                                 contract: its survey waves, and the contacts of their samples
  ops_admin      -               operations: event logs, dead letters, access logs
  service        -               one service reading another's event log (backfill)
"""
import functools
import time
from dataclasses import dataclass

import jwt
from flask import current_app, g, request

from .errors import ApiError

ALGORITHM = "HS256"
SCOPE_CLAIM = {"intake_clerk": "community_ids", "social_worker": "agency_id",
               "agency_admin": "agency_id", "buyer_auditor": "buyer_id",
               "evaluator": "contract_id"}
ROLES = (*SCOPE_CLAIM, "ops_admin", "service")
PUBLIC_ENDPOINTS = {"health.healthz", "health.readyz", "static"}


@dataclass(frozen=True)
class Claims:
    sub: str
    role: str
    community_ids: tuple[str, ...] = ()
    agency_id: str | None = None
    buyer_id: str | None = None
    contract_id: str | None = None


def check_scope(role: str, **scope) -> None:
    """ValueError unless `role` is known and `scope` has the claim the role needs."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    needed = SCOPE_CLAIM.get(role)
    if needed and not scope.get(needed):
        raise ValueError(f"role {role} needs the {needed} claim")


def mint(key: str, role: str, sub: str, ttl: int = 3600, **scope) -> str:
    check_scope(role, **scope)
    now = int(time.time())
    payload = {"sub": sub, "role": role, "iat": now, "exp": now + ttl}
    payload.update({k: (list(v) if k == "community_ids" else v)
                    for k, v in scope.items() if v})
    return jwt.encode(payload, key, algorithm=ALGORITHM)


def decode(key: str, token: str) -> Claims:
    claims, expires = _verified(key, token)
    if expires <= time.time():  # a cached token expires as an uncached one would
        raise _expired()
    return claims


def _expired() -> ApiError:
    return ApiError(401, "The token has expired", "访问令牌已过期", code="token_expired")


@functools.lru_cache(maxsize=4096)
def _verified(key: str, token: str) -> tuple[Claims, float]:
    """The claims of a token whose signature and claims hold, and when it expires. A client
    sends the same token with every request; checking it again cost more than some of the
    requests it came with. Only valid tokens are kept (an error is raised, never cached)."""
    try:
        payload = jwt.decode(token, key, algorithms=[ALGORITHM],
                             options={"require": ["sub", "role", "exp"]})
    except jwt.ExpiredSignatureError:
        raise _expired()
    except jwt.InvalidTokenError as exc:
        raise ApiError(401, f"Invalid token: {exc}", "访问令牌无效", code="token_invalid")
    role = payload["role"]
    needed = SCOPE_CLAIM.get(role)
    if role not in ROLES or (needed and not payload.get(needed)):
        raise ApiError(401, "The token's role or scope claims are invalid",
                       "访问令牌的角色或范围无效", code="token_invalid")
    communities = payload.get("community_ids") or []
    if not isinstance(communities, list) or not all(isinstance(c, str) for c in communities):
        raise ApiError(401, "community_ids must be a list of strings",
                       "community_ids 必须是字符串列表", code="token_invalid")
    claims = Claims(sub=str(payload["sub"]), role=role, community_ids=tuple(communities),
                    agency_id=payload.get("agency_id"), buyer_id=payload.get("buyer_id"),
                    contract_id=payload.get("contract_id"))
    return claims, float(payload["exp"])


def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return
    if request.blueprint in current_app.extensions.get("session_blueprints", ()):
        return  # the pages: a login session holds the token (shared/web)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401)
    g.claims = decode(current_app.config["JWT_KEY"], token.strip())


def init_app(app) -> None:
    app.before_request(_authenticate)


def claims() -> Claims:
    return g.claims


def require(*roles: str) -> Claims:
    """The caller's claims, if its role is one of `roles`; 403 otherwise."""
    current = claims()
    if current.role not in roles:
        raise ApiError(403, f"Role {current.role} may not do this; allowed: {', '.join(roles)}",
                       f"角色 {current.role} 无权执行此操作")
    return current
