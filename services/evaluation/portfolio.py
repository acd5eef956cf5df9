"""A buyer's city portfolio: every contract the caller may see, each with the scorecard's
own total, dimensions and monthly trend for a range (default: the contract's whole period)
as known at a time, sorted and paged. The figures are the scorecard's, computed by the same
functions for the same scope, so the portfolio never says other than a contract's card."""
from datetime import date

import sqlalchemy as sa

from . import access, measures, scorecard
from .models import Contract, db
from .state import projections_state

SORTS = ("contract_id", "agency_id", "period_start", "total")
COLUMNS = {"contract_id": Contract.id, "agency_id": Contract.agency_id,
           "period_start": Contract.period_start}


def scope(contract: Contract, start: date | None, end: date | None, as_of) -> \
        measures.Scope | None:
    """The contract's period, narrowed to the range asked for; None if they do not meet."""
    start = max(start or contract.period_start, contract.period_start)
    end = min(end or contract.period_end, contract.period_end)
    if end < start:
        return None
    return measures.Scope(tuple(contract.community_ids), start, end, None, as_of)


def entry(contract: Contract, within: measures.Scope, state: tuple) -> dict:
    card = scorecard.contract_card(contract, within, state)
    return {"contract_id": contract.id, "contract_version": contract.version,
            "agency_id": contract.agency_id, "community_ids": list(contract.community_ids),
            "from": within.start.isoformat(), "to": within.end.isoformat(),
            "total": card["total"], "band": card["band"],
            "dimensions": [{key: d[key] for key in ("key", "name_zh", "name_en", "weight",
                                                    "score", "band")}
                           for d in card["dimensions"]],
            "trend": measures.trend(within)}


def entries(scoped: list[tuple[Contract, measures.Scope]]) -> list[dict]:
    """Each contract's entry, in order; all read at the projections' state of now."""
    state = projections_state()  # once for the page, not once a card
    scorecard.read_ahead(scoped)
    return [entry(*pair, state) for pair in scoped]


def _last_if_none(value, descending: bool):
    """A contract without a total goes after those with one, whichever the order."""
    return (value is None) != descending, value if value is not None else 0


def portfolio(claims, args: dict) -> dict:
    """The page of the caller's contracts asked for. Sorted by a column of the contract,
    only the page's cards are computed; sorted by total, every contract's is."""
    sort, descending = args["sort"], args["order"] == "desc"
    query = access.visible(claims, sa.select(Contract))
    if sort in COLUMNS:
        column = COLUMNS[sort]
        query = query.order_by(column.desc() if descending else column, Contract.id)
    else:
        query = query.order_by(Contract.id)
    scoped = [(c, s) for c in db.session.scalars(query)
              if (s := scope(c, args.get("date_from"), args.get("date_to"),
                             args.get("as_of"))) is not None]
    offset, limit = args["offset"], args["limit"]
    if sort == "total":
        every = entries(scoped)
        every.sort(key=lambda e: _last_if_none(e["total"], descending), reverse=descending)
        page = every[offset:offset + limit]
    else:
        page = entries(scoped[offset:offset + limit])
    return {"total_contracts": len(scoped), "offset": offset, "limit": limit, "sort": sort,
            "order": args["order"],
            "as_of": args["as_of"].isoformat() if args.get("as_of") else None,
            "contracts": page}
