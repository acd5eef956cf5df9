"""The scorecard: each indicator of the contract's framework scored 0-100 against its target
(and banded 1-5 for the dashboard), dimensions and the total as weighted sums, and a payment
recommendation per milestone following the contract's rule.

An indicator without data in the scope (no cases closed, say) is shown as such and left out
of the weighted sums, whose weights are then renormalised: no figure is invented. Monitored
indicators (weight 0) are scored and shown, never summed."""
from decimal import Decimal

from . import fund_measures, ledger, measures, surveys, verification
from .framework import MEASURES
from .remembered import Remembered
from .state import projections_state

BANDS = ((90, 5), (75, 4), (60, 3), (40, 2))


def _mean_gap(result: dict):
    gaps = [g for g in result["gap"].values() if g is not None]
    return round(sum(gaps) / len(gaps), 4) if gaps else None


SOURCES = {  # indicator -> (the measure computing it, where its figure sits in the result)
    "ladder_participant_share": (measures.ladder, lambda r: r["conversion"][
        "served_to_participant"]["value"]),
    "ladder_contributor_share": (measures.ladder, lambda r: r["conversion"][
        "participant_to_contributor"]["value"]),
    "ladder_codecider_share": (measures.ladder, lambda r: r["conversion"][
        "contributor_to_co_decider"]["value"]),
    "ladder_leader_count": (measures.ladder, lambda r: r["at_least"]["leader"]),
    "dependency_ratio": (measures.dependency_ratio, lambda r: r["value"]),
    "resident_topic_adoption": (measures.topic_adoption, lambda r: r["adoption"]["value"]),
    "resident_share_of_adopted": (measures.topic_adoption,
                                  lambda r: r["resident_share_of_adopted"]["value"]),
    "response_days": (measures.response, lambda r: r["median_days"]),
    "follow_through": (measures.follow_through, lambda r: r["carried_out"]["value"]),
    "stalled_share": (measures.follow_through, lambda r: r["stalled"]["value"]),
    "need_traceability": (measures.traceability, lambda r: r["traced"]["value"]),
    "breadth": (measures.breadth, lambda r: r["value"]),
    "stability": (measures.stability, lambda r: r["value"]),
    "representativeness_gap": (measures.representativeness, _mean_gap),
    "capacity_to_leadership": (measures.capacity_to_leadership,
                               lambda r: r["converted"]["value"]),
    "organisational_vitality": (measures.organisational_vitality, lambda r: r["value"]),
    "volunteer_activation": (measures.volunteer_activation,
                             lambda r: r["active"]["value"]),
    "service_to_participation": (measures.service_to_participation,
                                 lambda r: r["value"]),
    "decision_mode_delegated": (measures.decision_mode,
                                lambda r: r["delegated"]["value"]),
    "digital_channel_share": (measures.channels, lambda r: r["digital"]["value"]),
    "fund_vote_share": (fund_measures.vote_share, lambda r: r["value"]),
    "fund_turnout": (fund_measures.turnout, lambda r: r["turnout"]["value"]),
    "fund_resident_proposed_share": (fund_measures.resident_proposed_share,
                                     lambda r: r["value"]),
    "fund_delivery_rate": (fund_measures.delivery, lambda r: r["delivered"]["value"]),
    "fund_cost_accuracy": (fund_measures.delivery, lambda r: r["cost_accuracy"]["value"]),
    "fund_voter_representativeness_gap": (fund_measures.voter_representativeness, _mean_gap),
}


def _cost_per_outcome(contract, scope: measures.Scope):
    """What was spent (the ledger's expenses in the scope, where the contract keeps one;
    otherwise the budget prorated to the scope's days) per outcome."""
    spend = ledger.spent(contract, scope.start, scope.end, scope.as_of)
    if spend is None:
        spend = measures.spend_in(scope, contract.budget, contract.period_start,
                                  contract.period_end)
    return measures.cost_per_outcome(scope, spend, contract.period_start)["per_outcome"]


CONTRACT_SOURCES = {  # indicator -> its figure for a contract and scope: what only a
    # contract gives (its budget prices outcomes; its auditor samples; its waves are asked)
    "cost_per_outcome": _cost_per_outcome,
    "verified_share": lambda c, s: verification.verified_share(c, s)["value"],
    **surveys.INDICATORS,
}


class _Measured:
    """The figures of one card: each measure runs once, however many indicators read it."""

    def __init__(self, scope: measures.Scope, contract=None):
        self.scope, self.contract, self.results = scope, contract, {}

    def value(self, key: str):
        if key in CONTRACT_SOURCES:
            return None if self.contract is None else CONTRACT_SOURCES[key](
                self.contract, self.scope)
        measure, extract = SOURCES[key]
        return extract(self.result(measure))

    def result(self, measure):
        if measure not in self.results:
            self.results[measure] = measure(self.scope)
        return self.results[measure]


def score(value, target: float, higher_is_better: bool):
    """0-100 against the target: reaching it scores 100; a decline (a negative change)
    scores 0."""
    if value is None:
        return None
    if higher_is_better:
        return 100.0 if target <= 0 else round(max(0.0, min(100.0, 100 * value / target)), 2)
    return 100.0 if value <= target else round(100 * target / value, 2)


def band(points) -> int | None:
    if points is None:
        return None
    return next((b for floor, b in BANDS if points >= floor), 1)


def _weighted(parts: list[tuple[float, float | None]]):
    scored = [(w, s) for w, s in parts if w > 0 and s is not None]
    total = sum(w for w, _ in scored)
    return round(sum(w * s for w, s in scored) / total, 2) if total else None


def compute(framework: list[dict], scope: measures.Scope, contract=None,
            measured: _Measured | None = None) -> dict:
    """The card for a framework and scope; `contract` (budget and period) prices outcomes."""
    measured = measured or _Measured(scope, contract)
    dimensions = []
    for dimension in framework:
        indicators = []
        for indicator in dimension["indicators"]:
            _, _, unit, higher = MEASURES[indicator["measure"]]
            value = measured.value(indicator["measure"])
            points = score(value, indicator["target"], higher)
            indicators.append({**indicator, "unit": unit, "value": value, "score": points,
                               "band": band(points), "monitored": indicator["weight"] == 0})
        points = _weighted([(i["weight"], i["score"]) for i in indicators])
        dimensions.append({"key": dimension["key"], "name_zh": dimension["name_zh"],
                           "name_en": dimension["name_en"], "weight": dimension["weight"],
                           "score": points, "band": band(points), "indicators": indicators})
    total = _weighted([(d["weight"], d["score"]) for d in dimensions])
    return {"total": total, "band": band(total), "dimensions": dimensions}


def payments(milestones: list[dict], budget: Decimal, total: float | None) -> list[dict]:
    """Full share at or above the milestone's minimum score, in proportion below it."""
    out = []
    for milestone in milestones:
        share = Decimal(str(milestone["share"]))
        floor = Decimal(str(milestone["min_score"]))
        factor = Decimal(0) if total is None else Decimal(1) if floor <= 0 else min(
            Decimal(1), Decimal(str(total)) / floor)
        out.append({"milestone_id": milestone["id"], "due": str(milestone["due"]),
                    "share": milestone["share"], "min_score": milestone["min_score"],
                    "recommended": str((budget * share * factor).quantize(Decimal("0.01"))),
                    "full": total is not None and factor >= 1})
    return out


def read_ahead(scoped: list[tuple]) -> None:
    """What each card of a page of (contract, scope) reads of its own contract (survey waves,
    sampled records, budget versions) and of its scope (measures.read_ahead), read for the
    page at once: a statement each, not one a card."""
    contract_ids = [contract.id for contract, _ in scoped]
    measures.read_ahead([scope for _, scope in scoped])
    surveys.waves_of(contract_ids)
    verification.sampled_of(contract_ids)
    ledger.budgets_set_of(contract_ids)


def contract_card(contract, scope: measures.Scope, state: tuple | None = None) -> dict:
    """A contract's card for a scope, with the participation ladder, its outputs and payment
    recommendations; `state`: the projections' as a page of cards read it once."""
    def card():
        measured = _Measured(scope, contract)  # the ladder's indicators and the card share it
        computed = compute(contract.framework, scope, contract, measured)
        computed["ladder"] = measured.result(measures.ladder)
        computed["outputs"] = measures.outputs(scope)
        computed["payments"] = payments(contract.milestones, contract.budget,
                                        computed["total"])
        return computed
    return _CARDS.get((contract.id, contract.version, scope, state or projections_state()),
                      card)


# a card takes up to seconds with many events in the projections; a city portfolio shows
# hundreds of contracts at once, and every one of its cards must stay for its next reader
_CARDS = Remembered(size=512)
