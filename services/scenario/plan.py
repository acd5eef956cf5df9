"""A pure, seeded plan of everything the users of a contract year do, as HTTP calls.

Modelled on the published case of T community's residents' consultative council (Chongqing):
a street office buys a year of community social work from an agency; clerks register the
residents and record their needs; the agency opens cases, runs casework, group and community
work, trains volunteers, cultivates resident leaders and self-organisations and facilitates
the council, where residents, social workers, the residents' committee and the party
organisation propose topics that are deliberated, decided and carried out. Participation
grows over the year and dependence on the social workers falls, unevenly across age groups,
with the failure modes the study found (see docs/SCENARIO.md for the rates and why).

The plan is data: phases of chains of `Call`s. Calls in one chain run in order (a case is
opened before its sessions); chains of a phase may run in parallel. Ids the services assign
are referred to by `Ref`s, filled in when the call that produces them has run."""
import random
from itertools import accumulate
from dataclasses import dataclass, field
from datetime import date, timedelta

from services.evaluation.sampling import MAX_SEED

from .people import Person, Roster, community_people

BUYER = "street-office-1"
SHEET = 500  # rows per roster import: one import holds intake's write lock while it runs
ALL_BANDS = ("0-17", "18-34", "35-59", "60-69", "70-79", "80+")
ADULTS, OLDER = ALL_BANDS[1:], ALL_BANDS[2:]
SLOTS = ((9, 0, 10, 30), (10, 45, 12, 0), (14, 0, 15, 30), (15, 45, 17, 0), (19, 0, 20, 30))
# follow-up verification (回访) per milestone: how many records the auditor checks, how they
# reach them, and what they find (confirmed, not confirmed, unreachable; docs/SCENARIO.md)
CHECKS = {"session": (30, {"call": 0.7, "visit": 0.3}, (0.88, 0.04, 0.08)),
          "resident": (20, {"call": 0.8, "visit": 0.2}, (0.80, 0.05, 0.15))}
RESULTS = ("confirmed", "not_confirmed", "unreachable")


@dataclass(frozen=True)
class Knobs:
    residents: int = 3000
    months: int = 12
    agencies: int = 1
    communities: int = 1
    seed: int = 2023


SIZES = {"tiny": Knobs(residents=80, months=3),
         "default": Knobs(),
         "large": Knobs(residents=100_000, months=12, agencies=4, communities=8),
         "million": Knobs(residents=300_000, months=36, agencies=6, communities=24)}


@dataclass(frozen=True)
class Ref:
    """An id a service assigns, known once the call producing it has run."""
    kind: str
    key: tuple


@dataclass
class Call:
    actor: tuple                 # (role, scope…): ("social_worker", agency, worker id)
    service: str
    path: str                    # "{}" is replaced by the resolved `path_ref`
    body: dict | None = None
    produces: Ref | None = None  # the response's id (or ref) is stored under this
    path_ref: Ref | None = None
    upload: dict | None = None   # a roster sheet: {"community_id", "rows"}; rows produce refs
    method: str = "POST"
    fieldwork: dict | None = None  # a survey wave's fieldwork: {"wave", "kind", "size"}


@dataclass
class Plan:
    knobs: Knobs
    start: date
    end: date
    contracts: list = field(default_factory=list)       # the contracts' ids
    people: dict = field(default_factory=dict)          # Ref of a resident -> Person
    phases: list = field(default_factory=list)          # (name, [chain, …]); chain = [Call]

    def calls(self):
        for _, chains in self.phases:
            for chain in chains:
                yield from chain

    def count(self) -> int:
        return sum(1 for _ in self.calls())


def months_back(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(day.day, 28))


def build_plan(knobs: Knobs, end: date | None = None) -> Plan:
    """Everything the year's users do; the year ends the day before `end` (today), so no
    record is dated in the future and the contract is current when the plan is loaded."""
    end = end or date.today()
    start = months_back(end, knobs.months)
    plan = Plan(knobs, start, end)
    rng = random.Random(knobs.seed)
    communities = [f"c{i + 1}" for i in range(knobs.communities)]
    agencies = [f"a{i + 1}" for i in range(knobs.agencies)]
    served = {a: [c for i, c in enumerate(communities) if i % len(agencies) == j]
              for j, a in enumerate(agencies)}
    served = {a: cs for a, cs in served.items() if cs}
    sizes = _split(knobs.residents, len(communities))
    setup, roster_calls, homes, needs, work = [], [], [], [], []
    roster, years_of = Roster(), {}
    for agency, cs in served.items():
        years = [Year(plan, agency, c, sizes[communities.index(c)], roster, rng) for c in cs]
        years_of[agency] = years
        setup.append(_contract(plan, agency, cs, years))
        setup.append([Call(("agency_admin", agency), "casework", "/workers",
                           {"id": w, "name": name})
                      for year in years for w, name in year.workers])
        for year in years:
            setup.insert(0, year.reference_data())
            homes.extend(year.household_calls())
            roster_calls.append(year.roster_calls())
            year.live()
            needs.extend(year.need_chains)
            work.extend(year.work_chains)
    # drawn last, so the rest of the plan stays as it was for the seed
    checks = [chain for agency, years in years_of.items()
              for chain in verifications(plan, f"k-{agency}", years, rng)]
    from .fieldwork import survey_chains  # it builds on this module's calls
    draws, fieldwork = [], []
    for agency, years in years_of.items():
        waves, answers = survey_chains(plan, f"k-{agency}", sum(y.size for y in years), rng)
        draws += waves
        fieldwork += answers
        plan.people.update((y.ref(p.index), p) for y in years for p in y.people)
    # one sheet at a time: an import holds intake's write lock while it runs (SQLite), so
    # sheets in parallel would only wait for each other
    sheets = [call for calls in roster_calls for call in calls]
    plan.phases = [("setup", setup), ("households", homes), ("residents", [sheets]),
                   ("needs", needs), ("casework", work), ("verification", checks),
                   ("survey waves", draws), ("survey fieldwork", fieldwork)]
    return plan


def milestones(plan: Plan) -> list[tuple[str, date, date]]:
    """(milestone, first day, due day): mid-term halfway, final at the year's end."""
    middle = plan.start + (plan.end - plan.start) // 2
    return [("mid-term", plan.start, middle), ("final", middle + timedelta(days=1), plan.end)]


def verifications(plan: Plan, contract_id: str, years, rng: random.Random) -> list[list[Call]]:
    """The street office's auditor, near each milestone, draws sessions and residents who
    took part in the milestone's period and records what each visit or call found. Sizes
    are capped by what the period surely holds (a draw of more than there is gets fewer)."""
    sessions = [c.body for y in years for chain in y.work_chains for c in chain
                if c.path == "/sessions"]
    auditor, base = ("buyer_auditor", BUYER), f"/contracts/{contract_id}/verifications"
    chains = []
    for milestone, first, due in milestones(plan):
        held = [b for b in sessions if first <= date.fromisoformat(b["date"]) <= due]
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
                "seed": rng.randint(0, MAX_SEED)}, produces=sample)]
            for position in range(1, size + 1):
                chain.append(Call(auditor, "evaluation", base + f"/{{}}/items/{position}", {
                    "result": rng.choices(RESULTS, rates)[0],
                    "method": rng.choices(list(methods), list(methods.values()))[0]},
                    path_ref=sample))
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
            "budget": str(100 * residents),  # about 100 yuan per resident and year
            "milestones": [{"id": "mid-term", "due": middle.isoformat(), "share": 0.4,
                            "min_score": 60},
                           {"id": "final", "due": last.isoformat(), "share": 0.6,
                            "min_score": 70}],
            "targets": {"cases": residents // 20, "service_hours": residents // 3,
                        "sessions": residents // 4, "activities": residents // 30}}
    return [Call(("buyer_auditor", BUYER), "evaluation", "/contracts", body)]


class Year:
    """One community's year: its people and what they and the agency do, month by month."""

    def __init__(self, plan: Plan, agency: str, community: str, size: int, roster: Roster,
                 rng: random.Random):
        self.plan, self.agency, self.community, self.size, self.rng = (
            plan, agency, community, size, rng)
        self.scale = size / 3000
        self.grids = [f"{community}-g{i + 1}" for i in range(max(1, round(size / 300)))]
        self.homes, self.people = community_people(size, self.grids, plan.end, roster, rng)
        self.workers = [(f"{agency}-{community}-w{i + 1}", f"社工{i + 1}")
                        for i in range(max(2, round(size / 500)))]
        self.booked: set = set()
        self.need_chains, self.work_chains = [], []
        self.needs: list[dict] = []          # planned needs, in the order they are reported
        self.acts: dict[int, int] = {}       # person -> times taken part (for who is asked)
        self.volunteers: list[int] = []
        self.trained: dict[int, date] = {}   # person -> first leader cultivation
        self.leaders: list[int] = []
        self.returning: dict[int, list[int]] = {}  # month -> closed-case residents to invite
        self.groups: list[dict] = []
        self.organisations: list[dict] = []
        self.pools: dict = {}
        self.council = self.pick(max(9, min(40, round(15 * self.scale ** 0.5))), OLDER)
        self.open_topics: list[dict] = []
        self.council_calls: list[Call] | None = None  # one chain: the council meets in order
        self.topics = 0
        self.cases = 0

    # -- who ---------------------------------------------------------------------------------

    def ref(self, person: int) -> Ref:
        return Ref("resident", (self.community, person))

    def refs(self, people) -> list[Ref]:
        return [self.ref(p) for p in people]

    def pick(self, count: int, bands=ALL_BANDS, boost: float = 1.0) -> list[int]:
        """`count` different people of the age bands, more likely the keener and those who
        came before: drawn by propensity, then kept in proportion to how often they came
        (rejection sampling keeps it fast for large communities)."""
        pool, cumulative = self.pool(bands)
        wanted, chosen = min(count, len(pool)), {}
        most = 1 + boost * 6
        for _ in range(50):
            for p in self.rng.choices(pool, cum_weights=cumulative, k=2 * wanted):
                came = 1 + boost * min(self.acts.get(p.index, 0), 6)
                if self.rng.random() * most < came:
                    chosen[p.index] = None
                    if len(chosen) >= wanted:
                        return list(chosen)
        return list(chosen)

    def pool(self, bands) -> tuple[list[Person], list[float]]:
        if bands not in self.pools:
            pool = [p for p in self.people if p.age_band in bands]
            self.pools[bands] = (pool, list(accumulate(p.propensity for p in pool)))
        return self.pools[bands]

    def took_part(self, people) -> None:
        for p in people:
            self.acts[p] = self.acts.get(p, 0) + 1

    # -- when --------------------------------------------------------------------------------

    def month_bounds(self, m: int) -> tuple[date, date]:
        first = self.plan.start + timedelta(days=round(m * 30.44))
        last = self.plan.start + timedelta(days=round((m + 1) * 30.44) - 1)
        return first, min(last, self.plan.end - timedelta(days=1))

    def day_in(self, m: int, weekdays_only: bool = True) -> date:
        first, last = self.month_bounds(m)
        for _ in range(20):
            day = first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))
            if not weekdays_only or day.weekday() < 5:
                return day
        return first

    def book(self, workers: list[str], m: int, evening: bool = False):
        """A day and slot when every named worker is free (no one is in two places)."""
        slots = [4] if evening else [0, 1, 2, 3]
        for _ in range(60):
            day = self.day_in(m, weekdays_only=not evening)
            slot = self.rng.choice(slots)
            if all((w, day, slot) not in self.booked for w in workers):
                self.booked.update((w, day, slot) for w in workers)
                h1, m1, h2, m2 = SLOTS[slot]
                return day, f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"
        return None

    # -- calls -------------------------------------------------------------------------------

    def clerk(self, path, body=None, **kw) -> Call:
        return Call(("intake_clerk", self.community), "intake", path, body, **kw)

    def worker(self, worker_id: str, path, body=None, **kw) -> Call:
        return Call(("social_worker", self.agency, worker_id), "casework", path, body, **kw)

    def any_worker(self) -> str:
        return self.rng.choice(self.workers)[0]

    def reference_data(self) -> list[Call]:
        ops = ("ops_admin",)
        calls = [Call(ops, "intake", "/communities",
                      {"id": self.community, "name": f"T社区{self.community[1:]}",
                       "street": "渝中区某街道"})]
        calls += [Call(ops, "intake", f"/communities/{self.community}/grids",
                       {"id": g, "name": f"第{i + 1}网格"}) for i, g in enumerate(self.grids)]
        return calls

    def household_calls(self) -> list[list[Call]]:
        return [[self.clerk("/households", {"community_id": self.community, "grid_id": grid,
                                            "household_type": kind},
                            produces=Ref("household", (self.community, h)))]
                for h, (kind, grid) in enumerate(self.homes)]

    def roster_calls(self) -> list[Call]:
        """The roster as the clerks keep it, imported a sheet at a time, each resident with
        the day the community registered them (before the contract year: a roster carried
        over from the paper ledger), so evaluation knows who lived here in every period."""
        registered = self.registration_days()
        rows = [{"姓名": p.name, "身份证号": p.id_number, "电话": p.phone or "",
                 "网格": p.grid, "户编号": Ref("household", (self.community, p.household)),
                 "标记": "、".join({"living_alone": "独居", "disability": "残疾",
                                   "low_income": "低保"}[f] for f in p.flags),
                 "登记日期": registered[p.index].isoformat()}
                for p in self.people]
        return [Call(("intake_clerk", self.community), "intake", "/residents/import",
                     upload={"community_id": self.community, "rows": rows[i:i + SHEET],
                             "first": i})
                for i in range(0, len(rows), SHEET)]

    def registration_days(self) -> list[date]:
        """Spread over the ten years before the contract year, never before birth. Drawn
        from a generator of their own, so the rest of the plan stays as it was for the seed."""
        rng = random.Random(f"{self.plan.knobs.seed}/{self.community}/registered")
        before = self.plan.start - timedelta(days=1)
        return [max(p.born, before - timedelta(days=rng.randint(0, 3652)))
                for p in self.people]

    def work(self, *calls: Call) -> None:
        self.work_chains.append(list(calls))

    # -- the year ----------------------------------------------------------------------------

    def live(self) -> None:
        months = self.plan.knobs.months
        for m in range(months):
            growth = m / max(1, months - 1)   # 0 in the first month, 1 in the last
            self.report_needs(m, growth)
            self.run_groups(m, growth)
            self.community_work(m, growth)
            self.capacity_building(m, growth)
            self.organisations_work(m, growth)
            self.council_month(m, growth)
        self.field_cases()

    def report_needs(self, m: int, growth: float) -> None:
        for p in self.people:
            rate = 0.03 if p.age_band in ("60-69", "70-79", "80+") else 0.008
            if self.rng.random() < rate:
                self.report_need(m, growth, p)
        for _ in range(round(3 * self.scale)):  # anonymous: a broken lamp, a noisy site
            self.report_need(m, growth, None)

    def report_need(self, m: int, growth: float, p: Person | None) -> None:
        rng = self.rng
        if p is None:
            category = rng.choice(("public_environment", "community_governance",
                                   "neighbourhood_disputes"))
        elif p.age_band == "0-17":
            category = rng.choice(("child_youth", "child_youth", "health", "family_relations"))
        elif p.age_band in ("60-69", "70-79", "80+"):
            category = rng.choices(("elderly_care", "health", "disability",
                                    "poverty_assistance", "public_environment",
                                    "neighbourhood_disputes"), (40, 25, 8, 7, 12, 8))[0]
        else:
            category = rng.choices(("employment", "family_relations", "public_environment",
                                    "community_governance", "poverty_assistance",
                                    "neighbourhood_disputes", "other"),
                                   (20, 20, 20, 12, 10, 10, 8))[0]
        online = 0.08 + 0.22 * growth
        channel = rng.choices(("walk_in", "hotline", "online", "grid_visit", "council_meeting",
                               "referral"), (0.35, 0.15, online, 0.25, 0.05, 0.05))[0]
        urgency = rng.choices(("routine", "priority", "urgent"), (70, 22, 8))[0]
        day = self.day_in(m)
        index = len(self.needs)
        need = {"index": index, "person": p.index if p else None, "category": category,
                "urgency": urgency, "day": day, "month": m, "used": False}
        self.needs.append(need)
        body = {"community_id": self.community, "category": category, "urgency": urgency,
                "channel": channel, "description": f"{category} 需求（第{m + 1}月）",
                "reported_at": f"{day.isoformat()}T{rng.randint(8, 17):02d}:"
                               f"{rng.randint(0, 59):02d}:00+08:00"}
        if p is not None:
            body["resident_ref"] = self.ref(p.index)
        else:
            body["grid_id"] = rng.choice(self.grids)
        need_ref = Ref("need", (self.community, index))
        chain = [self.clerk("/needs", body, produces=need_ref)]
        fate = rng.random()
        if fate < 0.04:  # solved elsewhere before anyone acted
            need["used"] = True
            chain.append(self.clerk("/needs/{}/withdraw", {"reason": rng.choice(
                ("resolved_elsewhere", "resident_request", "moved_away"))}, path_ref=need_ref))
        elif fate < 0.10:  # another body's business: the clerk refers it on
            need["used"] = True
            chain.append(self.clerk("/needs/{}/triage", {
                "status": "referred", "referred_to": rng.choice(
                    ("街道社保所", "社区卫生服务中心", "派出所", "物业公司"))}, path_ref=need_ref))
        elif fate < 0.55:
            chain.append(self.clerk("/needs/{}/triage", {"status": "triaged"},
                                    path_ref=need_ref))
        self.need_chains.append(chain)
        if p is not None and not need["used"] and category not in (
                "public_environment", "community_governance"):
            chance = {"urgent": 0.85, "priority": 0.5, "routine": 0.25}[urgency]
            if rng.random() < chance:
                need["used"] = True
                self.open_case(p, day + timedelta(days=rng.randint(1, 12)), need_ref)

    def open_case(self, p: Person, opened: date, need_ref: Ref | None) -> None:
        """A case and its life: goals, casework sessions, closing (if the year lasts)."""
        rng, end = self.rng, self.plan.end
        if opened >= end:
            return
        worker = self.any_worker()
        case = Ref("case", (self.community, self.cases))
        self.cases += 1
        body = {"need_id": need_ref} if need_ref else {
            "resident_ref": self.ref(p.index), "community_id": self.community}
        chain = [self.worker(worker, "/cases", {**body, "opened_on": opened.isoformat()},
                             produces=case)]
        goals = []
        for g in range(rng.choice((1, 1, 2, 2, 3))):
            goal = Ref("goal", (self.community, case.key[1], g))
            goals.append(goal)
            chain.append(self.worker(worker, "/cases/{}/goals", {
                "domain": rng.choice(("生活照料", "健康管理", "社会支持", "家庭关系", "经济援助")),
                "description": "提升自我照顾与社会支持", "baseline": rng.choice((-2, -1, -1, 0)),
                "set_on": min(opened + timedelta(days=rng.randint(0, 5)),
                              end - timedelta(days=1)).isoformat()},
                path_ref=case, produces=goal))
        day = opened
        for _ in range(rng.randint(2, 6)):
            day += timedelta(days=rng.randint(5, 16))
            slot = self.book_on([worker], day)
            if slot is None:
                continue
            chain.append(self.worker(worker, "/sessions", {
                "community_id": self.community, "method": "casework", "topic": "个案面谈",
                "case_id": case, "worker_ids": [worker], "attendee_refs": [self.ref(p.index)],
                "location": rng.choice(("居民家中", "社工站")), "date": slot[0].isoformat(),
                "start": slot[1], "end": slot[2]}))
        closed = day + timedelta(days=rng.randint(3, 20))
        if closed < end:
            outcome = rng.choices(("goals_met", "partly_met", "not_met", "referred",
                                   "withdrawn"), (45, 30, 10, 8, 7))[0]
            gain = {"goals_met": 2, "partly_met": 1}.get(outcome, 0)
            chain.append(self.worker(worker, "/cases/{}/close", {
                "outcome": outcome, "closed_on": closed.isoformat(),
                "goal_outcomes": [{"goal_id": g, "attainment": min(2, gain + rng.choice(
                    (-1, 0, 0)))} for g in goals]}, path_ref=case))
            if rng.random() < 0.3:  # served, then takes part: the conversion paid for
                month = self._month_of(closed) + 1
                self.returning.setdefault(month, []).append(p.index)
        self.work_chains.append(chain)

    def _month_of(self, day: date) -> int:
        return int((day - self.plan.start).days / 30.44)

    def book_on(self, workers: list[str], day: date):
        """A free daytime slot for the workers on `day` (a weekend moves to Monday)."""
        if day.weekday() >= 5:
            day += timedelta(days=7 - day.weekday())
        if day >= self.plan.end:
            return None
        for slot in self.rng.sample(range(4), 4):
            if all((w, day, slot) not in self.booked for w in workers):
                self.booked.update((w, day, slot) for w in workers)
                h1, m1, h2, m2 = SLOTS[slot]
                return day, f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"
        return None

    def field_cases(self) -> None:
        """Residents the workers meet on home visits, not through a reported need."""
        vulnerable = [p for p in self.people if {"living_alone", "disability",
                                                 "low_income"} & set(p.flags)]
        for p in self.rng.sample(vulnerable, min(len(vulnerable), round(25 * self.scale))):
            self.open_case(p, self.day_in(self.rng.randrange(self.plan.knobs.months)), None)

    GROUPS = (("老年互助小组", ("60-69", "70-79", "80+")), ("四点半课堂", ("0-17",)),
              ("巧手妈妈手工坊", ("18-34", "35-59")), ("慢病自我管理小组", ("60-69", "70-79")),
              ("书画兴趣小组", ("35-59", "60-69", "70-79")), ("青年志愿先锋", ("18-34",)))

    def run_groups(self, m: int, growth: float) -> None:
        """Group work: standing groups meet twice a month; more groups as the year goes on;
        groups with a cultivated leader increasingly run their own sessions."""
        wanted = max(1, round(self.scale * (3 + 4 * growth)))
        while len(self.groups) < wanted:
            name, bands = self.GROUPS[len(self.groups) % len(self.GROUPS)]
            members = self.pick(self.rng.randint(8, 16), bands)
            self.groups.append({"name": name, "bands": bands, "members": members,
                                "worker": self.any_worker(), "leader": None, "since": m})
        for group in self.groups:
            if group["leader"] is None and m - group["since"] >= 2:
                trained = [p for p in group["members"] if p in self.trained]
                if trained and self.rng.random() < 0.6:
                    group["leader"] = trained[0]
            if self.rng.random() < 0.3:  # newcomers join, some drift away
                group["members"] = group["members"][1:] + self.pick(2, group["bands"])
            for _ in range(2):
                led = group["leader"] is not None and self.rng.random() < 0.3 + 0.6 * growth
                self.session("group_work", group["name"], [group["worker"]], m,
                             self.present(group["members"]), group["leader"] if led else None)

    def present(self, members: list[int]) -> list[int]:
        return [p for p in members if self.rng.random() < 0.75]

    def session(self, method: str, topic: str, workers: list[str], m: int,
                attendees: list[int], leader: int | None, evening=False) -> None:
        slot = self.book(workers, m, evening)
        if slot is None or not attendees:
            return
        attendees = [p for p in dict.fromkeys(attendees) if p != leader]
        online = self.rng.random() < 0.06
        self.took_part(attendees)
        self.work(self.worker(workers[0], "/sessions", {
            "community_id": self.community, "method": method, "topic": topic,
            "worker_ids": workers, "attendee_refs": self.refs(attendees),
            "led_by": "resident" if leader is not None else "agency",
            "leader_refs": self.refs([leader] if leader is not None else []),
            "location": "线上" if online else "社区活动室", "mode": "online" if online else "in_person",
            "date": slot[0].isoformat(), "start": slot[1], "end": slot[2]}))

    def community_work(self, m: int, growth: float) -> None:
        """Open community events (neighbourhood festivals, clean-ups): breadth, and where
        residents whose cases closed are invited back."""
        events = max(1, round(self.scale * (2 + 2 * growth)))
        returning = self.returning.pop(m, [])
        for e in range(events):
            size = self.rng.randint(20, 40 + round(30 * growth))
            guests = returning[e::events]
            workers = self.rng.sample([w for w, _ in self.workers], 2)
            self.session("community_work", self.rng.choice(
                ("邻里节", "环境整治行动", "健康义诊", "政策宣讲", "亲子运动会")), workers, m,
                self.pick(size, boost=0.5) + guests, None, evening=self.rng.random() < 0.3)

    def activity(self, kind: str, topic: str, m: int, attendees: list[int],
                 leaders=(), organisation: Ref | None = None, chain=None) -> date | None:
        """A capacity-building record (in `chain`, or on its own); its day, or None if no
        one came or no worker was free."""
        led_by = "organization" if organisation else "resident" if leaders else "agency"
        workers = [] if leaders else [self.any_worker()]
        slot = self.book(workers, m) if workers else self.free_time(m)
        attendees = [p for p in dict.fromkeys(attendees) if p not in leaders]
        if slot is None or not attendees:
            return None
        self.took_part(attendees)
        body = {"community_id": self.community, "kind": kind, "topic": topic,
                "worker_ids": workers, "led_by": led_by, "leader_refs": self.refs(leaders),
                "attendee_refs": self.refs(attendees), "location": "社区活动室",
                "date": slot[0].isoformat(), "start": slot[1], "end": slot[2]}
        if organisation:
            body["organization_id"] = organisation
        call = self.worker(workers[0] if workers else self.any_worker(), "/activities", body)
        if chain is None:
            self.work(call)
        else:
            chain.append(call)
        return slot[0]

    def free_time(self, m: int):
        day = self.day_in(m, weekdays_only=False)
        return day, "09:00", "11:00"

    def capacity_building(self, m: int, growth: float) -> None:
        rng = self.rng
        for _ in range(max(1, round(self.scale * 1.5))):  # volunteer training
            trainees = self.pick(rng.randint(8, 20), ADULTS, boost=1)
            day = self.activity("training", "志愿服务培训", m, trainees)
            for p in trainees:  # about half of those trained sign up
                if day and p not in self.volunteers and rng.random() < 0.5:
                    self.volunteers.append(p)
                    signed = min(day + timedelta(days=rng.randint(0, 10)),
                                 self.plan.end - timedelta(days=1))
                    self.work(self.worker(self.any_worker(), "/volunteers", {
                        "community_id": self.community, "resident_ref": self.ref(p),
                        "skills": [rng.choice(("陪伴", "巡逻", "维修", "文艺", "清洁"))],
                        "registered_on": signed.isoformat()}))
        if self.volunteers:
            for _ in range(max(1, round(self.scale * (2 + 4 * growth)))):
                keen = sorted(self.volunteers, key=lambda p: -self.people[p].propensity)
                crew = [p for p in self.volunteers if rng.random() < min(
                    0.9, 0.1 + self.people[p].propensity * 0.4)][:10] or keen[:3]
                lead = [p for p in crew if p in self.leaders][:1]
                resident_led = lead and rng.random() < 0.15 + 0.55 * growth
                self.activity("volunteer_service", rng.choice(("助老探访", "楼栋清洁", "平安巡逻")),
                              m, crew, lead if resident_led else ())
        if m % 2 == 1:  # leader cultivation for the most active, every other month
            candidates = sorted((p for p in self.acts if p not in self.trained
                                 and self.people[p].age_band != "0-17"),
                                key=lambda p: -self.acts[p])[:rng.randint(4, 10)]
            day = self.activity("leader_cultivation", "骨干培育工作坊", m, candidates)
            for p in candidates if day else []:
                self.trained[p] = day
                if rng.random() < 0.45:  # lagging empowerment: fewer than half step up
                    self.leaders.append(p)

    def organisations_work(self, m: int, growth: float) -> None:
        """Self-organisations grow out of the groups: incubated, formed, then (some of them)
        active on their own; a third go dormant."""
        due = round(self.scale * (1 + 5 * growth))
        ready = [p for p in self.leaders if all(p not in o["leaders"]
                                                for o in self.organisations)]
        if len(self.organisations) < due and ready and m >= 2:
            group = self.groups[len(self.organisations) % len(self.groups)]
            leaders = ready[:2]
            members = list(dict.fromkeys(leaders + group["members"]))[:30]
            day = self.activity("org_incubation", "组织孵化", m, members)
            if day:
                org = Ref("organization", (self.community, len(self.organisations)))
                formed = day  # founded at the end of its incubation workshop
                chain = [self.worker(self.any_worker(), "/organizations", {
                    "community_id": self.community, "name": f"{group['name']}自组织",
                    "kind": "mutual_aid", "formed_on": formed.isoformat(),
                    "leader_refs": self.refs(leaders), "member_refs": self.refs(members)},
                    produces=org)]
                self.organisations.append({"ref": org, "leaders": leaders, "members": members,
                                           "chain": chain, "since": m, "dormant": False,
                                           "active": False, "formed": formed})
                self.work_chains.append(chain)
        for o in self.organisations:
            if o["dormant"] or m <= o["since"]:
                continue
            if self.rng.random() < 0.05:  # energy fades: the organisation goes dormant
                o["dormant"] = True
                day = self.month_bounds(m)[0]
                self.organisation_status(o, "dormant", day)
                continue
            if self.rng.random() < 0.75:
                day = self.activity("volunteer_service", "自组织活动", m,
                                    self.present(o["members"]), o["leaders"], o["ref"],
                                    o["chain"])
                if day:
                    if not o["active"]:
                        o["active"] = True
                        self.organisation_status(o, "active", day)

    def organisation_status(self, organisation: dict, status: str, day: date) -> None:
        organisation["chain"].append(self.worker(
            self.any_worker(), "/organizations/{}", {"status": status, "on": day.isoformat()},
            path_ref=organisation["ref"], method="PATCH"))

    # -- the council -------------------------------------------------------------------------

    def council_month(self, m: int, growth: float) -> None:
        """Topics proposed through the month, a meeting near its end, decisions, and the
        follow-through of what was adopted."""
        rng = self.rng
        first, last = self.month_bounds(m)
        meeting_day = last - timedelta(days=rng.randint(0, 4))
        if meeting_day <= first:
            return
        chain = self.council_chain()
        for _ in range(max(1, round((3 + 4 * growth) * self.scale ** 0.5))):
            chain.append(self.propose(first, meeting_day, growth))
        agenda = [t for t in self.open_topics if t["proposed"] < meeting_day][:12]
        if not agenda:
            return
        proposers = [t["by"] for t in agenda if t["by"] is not None]
        observers = self.pick(round(3 + 15 * growth), boost=1)
        attendees = list(dict.fromkeys(self.present(self.council) + proposers + observers))
        meeting = Ref("meeting", (self.community, m))
        online = rng.random() < 0.05 + 0.15 * growth
        facilitated = "resident" if rng.random() < 0.1 + 0.4 * growth else "agency"
        chain.append(self.worker(self.any_worker(), "/council/meetings", {
            "community_id": self.community, "topic_ids": [t["ref"] for t in agenda],
            "attendee_refs": self.refs(attendees), "facilitated_by": facilitated,
            "minutes": f"第{m + 1}次议事会会议纪要", "mode": "online" if online else "in_person",
            "location": "线上会议" if online else "社区议事厅",
            "date": meeting_day.isoformat(), "start": "19:00", "end": "21:00"},
            produces=meeting))
        self.took_part(attendees)
        for topic in agenda:
            self.decide(chain, topic, meeting, meeting_day, attendees, growth)

    def council_chain(self) -> list[Call]:
        if self.council_calls is None:
            self.council_calls = []
            self.work_chains.append(self.council_calls)
        return self.council_calls

    def propose(self, first: date, meeting_day: date, growth: float) -> Call:
        rng = self.rng
        kind = "resident" if rng.random() < 0.3 + 0.3 * growth else rng.choices(
            ("social_worker", "residents_committee", "party_organization"), (45, 35, 20))[0]
        by = self.pick(1, ADULTS, boost=2)[0] if kind == "resident" \
            else None
        day = first + timedelta(days=rng.randint(0, max(0, (meeting_day - first).days - 1)))
        linked = [n for n in self.needs if not n["used"] and n["day"] <= day and n[
            "category"] in ("public_environment", "community_governance",
                            "neighbourhood_disputes")][:rng.randint(0, 3)]
        for n in linked:
            n["used"] = True
        ref = Ref("topic", (self.community, self.topics))
        self.topics += 1
        self.open_topics.append({"ref": ref, "by": by, "kind": kind, "proposed": day,
                                 "deferred": 0})
        if by is not None:
            self.took_part([by])
        channel = rng.choices(("in_person", "online", "council_meeting"),
                              (0.6, 0.1 + 0.3 * growth, 0.2))[0]
        body = {"community_id": self.community, "title": rng.choice((
            "加装电梯", "楼道照明改造", "停车位规划", "垃圾分类点设置", "老年食堂选址", "广场舞噪音公约",
            "小区绿化维护", "宠物管理公约")), "description": "居民议题", "proposer_kind": kind,
                "need_ids": [Ref("need", (self.community, n["index"])) for n in linked],
                "channel": channel, "proposed_on": day.isoformat()}
        if by is not None:
            body["proposer_ref"] = self.ref(by)
        return self.worker(self.any_worker(), "/council/topics", body, produces=ref)

    def decide(self, chain, topic, meeting: Ref, day: date, attendees, growth) -> None:
        rng = self.rng
        resident = topic["kind"] == "resident"
        weights = (55, 20, 25) if resident else (75, 10, 15)
        if topic["deferred"] >= 2:
            weights = (weights[0], weights[1], 0)
        outcome = rng.choices(("adopted", "rejected", "deferred"), weights)[0]
        mode = rng.choices(("informed", "consulted", "partnership", "delegated"),
                           (30 - 20 * growth, 40 - 10 * growth, 20 + 15 * growth,
                            10 + 15 * growth))[0]
        voters = [] if outcome == "deferred" else [
            p for p in attendees if rng.random() < 0.85]
        against = round(len(voters) * rng.uniform(0.05, 0.3))
        abstain = round(len(voters) * rng.uniform(0, 0.1))
        if outcome == "rejected":
            against = max(against, len(voters) - abstain - against)
        decision = Ref("decision", (self.community, topic["ref"].key[1], meeting.key[1]))
        chain.append(self.worker(self.any_worker(), "/council/meetings/{}/decisions", {
            "topic_id": topic["ref"], "votes_for": len(voters) - against - abstain,
            "votes_against": against, "abstentions": abstain,
            "voter_refs": self.refs(voters), "outcome": outcome, "decision_mode": mode,
            "decided_on": day.isoformat(), "summary": f"议题表决：{outcome}"},
            path_ref=meeting, produces=decision))
        self.took_part(voters)
        if outcome == "deferred":
            topic["deferred"] += 1
            return
        self.open_topics.remove(topic)
        if outcome == "adopted":
            self.follow_through(chain, decision, day)

    def follow_through(self, chain, decision: Ref, decided: date) -> None:
        """Carried out in one to four months, or stalled for want of resources."""
        rng = self.rng
        fate = rng.choices(("done", "stalled", "slow"), (60, 18, 22))[0]
        steps = rng.randint(1, 4)
        day, progress = decided, 0
        for step in range(steps + 1):
            day += timedelta(days=rng.randint(20, 40))
            if day >= self.plan.end:
                return
            if fate == "stalled" and step == 1:
                chain.append(self.worker(self.any_worker(), "/council/decisions/{}/progress", {
                    "status": "stalled", "progress": progress, "on": day.isoformat(),
                    "note": "资金未落实"}, path_ref=decision))
                return
            done = fate == "done" and step == steps
            progress = 100 if done else min(90, progress + rng.randint(15, 35))
            chain.append(self.worker(self.any_worker(), "/council/decisions/{}/progress", {
                "status": "done" if done else "in_progress", "progress": progress,
                "on": day.isoformat()}, path_ref=decision))
