"""The plan as data: its size and seed (`Knobs`), the HTTP calls the year's users make
(`Call`), the ids services assign and later calls refer to (`Ref`), and the whole plan as
phases of chains of calls (`Plan`)."""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta


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
    path_ref: Ref | tuple | None = None  # a tuple of Refs fills the path's "{}" in order
    upload: dict | None = None   # a roster sheet: {"community_id", "rows"}; rows produce refs
    method: str = "POST"
    fieldwork: dict | None = None  # a survey wave's fieldwork: {"wave", "kind", "size"}
    photo: dict | None = None    # an evidence photo: {"key", "taken"} (scenario/photos.py)
    at: datetime | None = None   # when it is recorded (scenario/recording.py)
    keeps: dict | None = None    # Ref -> a field of the response that Ref stands for


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


def milestones(plan: Plan) -> list[tuple[str, date, date]]:
    """(milestone, first day, due day): mid-term halfway, final at the year's end."""
    middle = plan.start + (plan.end - plan.start) // 2
    return [("mid-term", plan.start, middle), ("final", middle + timedelta(days=1), plan.end)]
