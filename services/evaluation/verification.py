"""Follow-up verification (回访): the auditor draws a random sample of a contract's sessions
or participating residents in a period, visits or calls, and records what each confirmed.
The confirmed share of those reached is the `verified_share` indicator.

A draw is reproducible (services/evaluation/sampling.py): the population is taken in a fixed
order, as known at a time (`as_of`, kept with the sample; default: the moment of the draw),
and the seed is kept, so the same seed and `as_of` give the same sample however many
records were entered later."""
from datetime import date, datetime

import sqlalchemy as sa

from shared.db import new_id, read_once_each
from shared.errors import ApiError
from shared.clock import utcnow
from shared.i18n import bilingual
from shared.vocabulary import PARTICIPANT

from . import sampling
from .measures import Scope, ratio, within
from .models import Act, Initiative, VerificationItem, VerificationSample, db

KINDS = ("session", "resident")
RESULTS = ("confirmed", "not_confirmed", "unreachable")
METHODS = ("visit", "call")
NOTHING_TO_DRAW = bilingual("There is nothing of this kind to sample in the period",
                            "该期间内没有可抽查的记录")


def population(contract, kind: str, start: date, end: date,
               as_of: datetime) -> list[tuple[str, date]]:
    """What can be drawn, in a fixed order: sessions held, or residents who took part (each
    with the day of their first act in the period), as recorded by `as_of`."""
    scope = Scope(tuple(contract.community_ids), start, end, as_of=as_of)
    if kind == "session":
        query = sa.select(Initiative.record_id, Initiative.on).where(
            *within(scope, Initiative.community_id, Initiative.on),
            Initiative.kind == "session").order_by(Initiative.record_id)
    else:
        query = sa.select(Act.resident_ref, sa.func.min(Act.on)).where(
            *within(scope, Act.community_id, Act.on), Act.rung >= PARTICIPANT).group_by(
            Act.resident_ref).order_by(Act.resident_ref)
    return [tuple(row) for row in db.session.execute(query)]


def draw(contract, kind: str, size: int, start: date, end: date, seed: int | None,
         by: str, as_of: datetime | None = None) -> VerificationSample:
    as_of = as_of or utcnow()
    pool = population(contract, kind, start, end, as_of)
    if not pool:
        raise ApiError(422, NOTHING_TO_DRAW, fields={"kind": [NOTHING_TO_DRAW]})
    seed = sampling.new_seed() if seed is None else seed
    chosen = sampling.draw(pool, size, seed, order=lambda item: item[0])
    sample = VerificationSample(id=new_id(), contract_id=contract.id, kind=kind,
                                period_from=start, period_to=end, as_of=as_of,
                                population=len(pool), seed=seed, drawn_by=by)
    sample.items = [VerificationItem(position=n, record_id=record_id, on=on)
                    for n, (record_id, on) in enumerate(chosen, start=1)]
    db.session.add(sample)
    return sample


def record_result(sample: VerificationSample, position: int, result: dict,
                  by: str) -> VerificationItem:
    item = next((i for i in sample.items if i.position == position), None)
    if item is None:
        raise ApiError(404, f"Item {position} not in sample {sample.id}",
                       f"抽查样本 {sample.id} 中没有第 {position} 项")
    if item.result is not None:
        raise ApiError(409, f"Item {position} was already verified by {item.verified_by}",
                       f"第 {position} 项已由 {item.verified_by} 核实")
    item.result, item.method, item.note = result["result"], result["method"], result.get("note")
    item.verified_by, item.verified_at = by, utcnow()
    return item


def sampled_of(contract_ids) -> dict[str, list[tuple[date, str | None]]]:
    """Each contract's sampled records as (day, result), read once per transaction for
    every contract asked."""
    def read(ids):
        found: dict[str, list] = {}
        for contract_id, on, result in db.session.execute(sa.select(
                VerificationSample.contract_id, VerificationItem.on, VerificationItem.result)
                .join(VerificationSample).where(VerificationSample.contract_id.in_(ids))):
            found.setdefault(contract_id, []).append((on, result))
        return found
    return read_once_each(db.session, "sampled records", contract_ids, read)


def verified_share(contract, scope: Scope) -> dict:
    """Confirmed / reached (confirmed or not) among sampled records dated in the scope."""
    results = [result for on, result in sampled_of([contract.id])[contract.id]
               if scope.start <= on <= scope.end]
    confirmed = results.count("confirmed")
    return {**ratio(confirmed, confirmed + results.count("not_confirmed")),
            "unreachable": results.count("unreachable"), "pending": results.count(None)}
