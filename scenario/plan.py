"""A pure, seeded plan of everything the users of a contract year do, as HTTP calls.

Modelled on the published case of T community's residents' consultative council (Chongqing):
a street office buys a year of community social work from an agency; clerks register the
residents and record their needs; the agency opens cases, runs casework, group and community
work, trains volunteers, cultivates resident leaders and self-organisations and facilitates
the council, where residents, social workers, the residents' committee and the party
organisation propose topics that are deliberated, decided and carried out. Participation
grows over the year and dependence on the social workers falls, unevenly across age groups,
with the failure modes the study found (see docs/SCENARIO.md for the rates and why).

The plan is data (calls.py): phases of chains of `Call`s. Calls in one chain run in order (a
case is opened before its sessions); chains of a phase may run in parallel. Ids the services
assign are referred to by `Ref`s, filled in when the call that produces them has run."""
import random
from datetime import date, timedelta
from decimal import Decimal

from shared import clock
from shared.months import months_back
from shared.vocabulary import MAX_SEED

from . import capacity, council, fund, groupwork, needs, recording, review
from .calls import Call, Knobs, Plan, Ref, milestones
from .community import Year
from .fieldwork import survey_chains
from .people import Roster

BUYER = "street-office-1"
# follow-up verification (回访) per milestone: how many records the auditor checks, how they
# reach them, and what they find (confirmed, not confirmed, unreachable; docs/SCENARIO.md)
CHECKS = {"session": (30, {"call": 0.7, "visit": 0.3}, (0.88, 0.04, 0.08)),
          "resident": (20, {"call": 0.8, "visit": 0.2}, (0.80, 0.05, 0.15))}
RESULTS = ("confirmed", "not_confirmed", "unreachable")


def build_plan(knobs: Knobs, end: date | None = None) -> Plan:
    """Everything the year's users do; the year ends the day before `end` (the community's
    today), so no record is dated in the future and the contract is current when the plan is
    loaded."""
    end = end or clock.today()
    start = months_back(end, knobs.months)
    plan = Plan(knobs, start, end)
    rng = random.Random(knobs.seed)
    communities = [f"c{i + 1}" for i in range(knobs.communities)]
    agencies = [f"a{i + 1}" for i in range(knobs.agencies)]
    served = {a: [c for i, c in enumerate(communities) if i % len(agencies) == j]
              for j, a in enumerate(agencies)}
    served = {a: cs for a, cs in served.items() if cs}
    sizes = _split(knobs.residents, len(communities))
    reference, setup, roster_calls, homes, needs, work, funds = [], [], [], [], [], [], []
    roster, years_of = Roster(), {}
    for agency, cs in served.items():
        years = [Year(plan, agency, c, sizes[communities.index(c)], roster, rng) for c in cs]
        years_of[agency] = years
        setup.append(_contract(plan, agency, cs, years))
        setup.append([Call(("agency_admin", agency), "casework", "/workers",
                           {"id": w, "name": name})
                      for year in years for w, name in year.workers])
        for year in years:
            reference.append(year.reference_data())
            homes.extend(year.household_calls())
            roster_calls.append(year.roster_calls())
            live(year)
            needs.extend(year.need_chains)
            work.extend(year.work_chains)
            funds.append(fund.fund_chain(year))
    funds = [chain for chain in funds if chain]
    # one sheet at a time: an import holds intake's write lock while it runs (SQLite), so
    # sheets in parallel would only wait for each other
    sheets = [call for calls in roster_calls for call in calls]
    offices = [jurisdiction(communities, list(served))]
    stamper = recording.Stamper(plan)
    for chains in (reference, offices, setup, homes, [sheets], needs, work, funds):
        stamper.stamp(chains)
    stamper.at_least_one_late(work)
    corrections = stamper.corrections(work)
    # drawn last, so the rest of the plan stays as it was for the seed
    checks = [chain for agency, years in years_of.items()
              for chain in verifications(plan, f"k-{agency}", years, rng)]
    draws, fieldwork = [], []
    for agency, years in years_of.items():
        waves, answers = survey_chains(plan, f"k-{agency}", sum(y.size for y in years), rng)
        draws += waves
        fieldwork += answers
        plan.people.update((y.ref(p.index), p) for y in years for p in y.people)
    stamper.stamp(draws)
    closings = [chain for agency in years_of
                for chain in stamper.closings(f"k-{agency}", ("buyer_auditor", BUYER))]
    ledgers = [review.ledger_chain(plan, f"k-{agency}", Decimal(100 * sum(
        y.size for y in years))) for agency, years in years_of.items()]
    reviews = [chain for agency, years in years_of.items()
               for chain in review.review_chains(plan, f"k-{agency}", years)]
    plan.phases = [("reference data", reference),
                   ("jurisdiction", offices),
                   ("setup", setup), ("households", homes), ("residents", [sheets]),
                   ("needs", needs), ("casework", work), ("fund", funds),
                   ("corrections", corrections), ("ledger", ledgers),
                   ("verification", checks), ("milestones", closings),
                   ("evaluations", reviews),
                   ("survey waves", draws), ("survey fieldwork", fieldwork)]
    return plan


def jurisdiction(communities: list[str], agencies: list[str]) -> list[Call]:
    """Ops register the street office with the communities it governs and the agencies it
    may contract (reference data intake keeps, evaluation learns from its events)."""
    ops = ("ops_admin",)
    calls = [Call(ops, "intake", "/agencies", {"id": a, "name": f"{a[1:]}号社工服务中心"})
             for a in agencies]
    return calls + [Call(ops, "intake", "/buyers", {
        "id": BUYER, "name": "渝中区某街道办事处", "kind": "street_office",
        "community_ids": communities})]


def verifications(plan: Plan, contract_id: str, years, rng: random.Random) -> list[list[Call]]:
    """The street office's auditor, near each milestone, draws sessions and residents who
    took part in the milestone's period and records what each visit or call found. Sizes
    are capped by what the period surely holds (a draw of more than there is gets fewer)."""
    sessions = [c for y in years for chain in y.work_chains for c in chain
                if c.path == "/sessions"]
    auditor, base = ("buyer_auditor", BUYER), f"/contracts/{contract_id}/verifications"
    chains = []
    for milestone, first, due in milestones(plan):
        # what evaluation holds when the auditor draws: the sessions recorded by then
        drawn = recording.drawn_at(plan, due)
        held = [c.body for c in sessions if first <= date.fromisoformat(c.body["date"]) <= due
                and c.at <= drawn]
        # residents at group and community sessions took part (participant or above)
        took_part = {r for b in held if b["method"] != "casework" for r in b["attendee_refs"]}
        for kind, population in (("session", len(held)), ("resident", len(took_part))):
            most, methods, rates = CHECKS[kind]
            size = min(most, population)
            if not size:
                continue
            sample = Ref("verification", (contract_id, milestone, kind))
            chain = [Call(auditor, "evaluation", base, {
                "kind": kind, "size": size, "from": first.isoformat(), "to": due.isoformat(),
                "seed": rng.randint(0, MAX_SEED)}, produces=sample, at=drawn)]
            for position in range(1, size + 1):
                chain.append(Call(auditor, "evaluation", base + f"/{{}}/items/{position}", {
                    "result": rng.choices(RESULTS, rates)[0],
                    "method": rng.choices(list(methods), list(methods.values()))[0]},
                    path_ref=sample, at=drawn + timedelta(minutes=position)))
            chains.append(chain)
    return chains


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _contract(plan: Plan, agency: str, communities: list[str], years) -> list[Call]:
    contract_id = f"k-{agency}"
    plan.contracts.append(contract_id)
    residents = sum(y.size for y in years)
    (_, _, middle), (_, _, last) = milestones(plan)
    body = {"id": contract_id, "agency_id": agency, "community_ids": communities,
            "period_start": plan.start.isoformat(), "period_end": last.isoformat(),
            "budget": str(100 * residents),  # about 100 yuan per resident and year (the
            # ledger's lines split it: scenario/review.py)
            "late_entry_days": recording.ALLOWANCE,
            "milestones": [{"id": "mid-term", "due": middle.isoformat(), "share": 0.4,
                            "min_score": 60},
                           {"id": "final", "due": last.isoformat(), "share": 0.6,
                            "min_score": 70}],
            "targets": {"cases": residents // 20, "service_hours": residents // 3,
                        "sessions": residents // 4, "activities": residents // 30}}
    return [Call(("buyer_auditor", BUYER), "evaluation", "/contracts", body)]


def live(year: Year) -> None:
    """The community's year, month by month, in the order the generator draws it."""
    months = year.plan.knobs.months
    for m in range(months):
        growth = m / max(1, months - 1)   # 0 in the first month, 1 in the last
        needs.report_needs(year, m, growth)
        groupwork.group_work(year, m, growth)
        groupwork.community_work(year, m, growth)
        capacity.capacity_building(year, m, growth)
        capacity.organisations_work(year, m, growth)
        council.council_month(year, m, growth)
    needs.field_cases(year)
