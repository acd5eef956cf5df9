"""One community's year in the plan: its people, and the state every part of the year reads
and grows (who has taken part, who is free when), with the calls its users make."""
import random
from datetime import date, timedelta
from itertools import accumulate

from shared.vocabulary import KNOWN_AGE_BANDS

from .calls import Call, Plan, Ref
from .people import Person, Roster, community_people

SHEET = 500  # rows per roster import: one import holds intake's write lock while it runs
ALL_BANDS = KNOWN_AGE_BANDS
ADULTS, OLDER = ALL_BANDS[1:], ALL_BANDS[2:]
SLOTS = ((9, 0, 10, 30), (10, 45, 12, 0), (14, 0, 15, 30), (15, 45, 17, 0), (19, 0, 20, 30))


class Year:
    """One community's year: its people, who takes part and when they are free, and the
    calls of what they and the agency do, which the modules needs, groupwork, capacity and
    council write month by month (plan.live). One random generator drives all of it, in a
    fixed order, so a seed gives the same year."""

    def __init__(self, plan: Plan, agency: str, community: str, size: int, roster: Roster,
                 rng: random.Random):
        self.plan, self.agency, self.community, self.size, self.rng = (
            plan, agency, community, size, rng)
        self.scale = size / 3000
        self.grids = [f"{community}-g{i + 1}" for i in range(max(1, round(size / 300)))]
        self.homes, self.people = community_people(size, self.grids, plan.end, roster, rng)
        self.workers = [(f"{agency}-{community}-w{i + 1}", f"社工{i + 1}")
                        for i in range(max(2, round(size / 500)))]
        self.booked: set = set()             # (worker, day, slot) already taken
        self.need_chains: list[list[Call]] = []  # each need's report and triage
        self.work_chains: list[list[Call]] = []  # the agency's records, a chain each
        self.needs: list[dict] = []          # planned needs, in the order they are reported
        self.acts: dict[int, int] = {}       # person -> times taken part (for who is asked)
        self.volunteers: list[int] = []      # people registered as volunteers
        self.trained: dict[int, date] = {}   # person -> first leader cultivation
        self.leaders: list[int] = []         # the trained who step up to lead
        self.returning: dict[int, list[int]] = {}  # month -> closed-case residents to invite
        self.groups: list[dict] = []         # standing groups: name, members, worker, leader
        self.organisations: list[dict] = []  # self-organisations and their chains
        self.pools: dict = {}                # age bands -> (people, cumulative propensity)
        self.councillors = self.pick(max(9, min(40, round(15 * self.scale ** 0.5))), OLDER)
        self.open_topics: list[dict] = []    # council topics proposed, not yet decided
        self.council_calls: list[Call] | None = None  # one chain: the council meets in order
        self.topics = 0                      # topics proposed so far (their refs' index)
        self.cases = 0                       # cases opened so far (their refs' index)

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

    def present(self, members: list[int]) -> list[int]:
        return [p for p in members if self.rng.random() < 0.75]

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

    def month_of(self, day: date) -> int:
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

    def free_time(self, m: int):
        day = self.day_in(m, weekdays_only=False)
        return day, "09:00", "11:00"

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
