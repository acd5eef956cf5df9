"""The micro-fund's count and allocation, one rule for casework (which publishes the results)
and evaluation (which computes them again from the events).

Each resident has one ballot per fund: the first recorded (lowest sequence at casework); a
later one, on paper or online, is not counted. A project's votes are the ballots naming it.
Winners fill the fund in vote order, a project that no longer fits the money left is skipped
and the next one tried (Consul's result allocation); a project with no votes is not funded.
Ties are broken by the lower cost first, then the earlier proposal (the lower project
number)."""
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Candidate:
    project_id: str
    number: int     # the order of proposal within the fund, from 1
    cost: Decimal   # the reviewed price


@dataclass(frozen=True)
class Outcome:
    project_id: str
    votes: int
    cost: Decimal
    funded: bool
    rank: int       # place in vote order, from 1
    reason: str     # "funded", "does_not_fit" or "no_votes"


def first_ballots(ballots) -> dict[str, tuple]:
    """resident -> projects of the resident's first ballot; `ballots` are
    (sequence, resident_ref, project_ids) in any order, duplicates allowed."""
    first: dict[str, tuple[int, tuple]] = {}
    for sequence, resident, projects in ballots:
        if resident not in first or sequence < first[resident][0]:
            first[resident] = (sequence, tuple(projects))
    return {resident: projects for resident, (_, projects) in first.items()}


def count_votes(ballots) -> dict[str, int]:
    votes: dict[str, int] = {}
    for projects in first_ballots(ballots).values():
        for project_id in dict.fromkeys(projects):
            votes[project_id] = votes.get(project_id, 0) + 1
    return votes


def vote_order(candidates, votes: dict[str, int]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (-votes.get(c.project_id, 0), c.cost, c.number))


def allocate(amount: Decimal, candidates, votes: dict[str, int]) -> list[Outcome]:
    left, outcomes = Decimal(amount), []
    for rank, c in enumerate(vote_order(candidates, votes), start=1):
        n = votes.get(c.project_id, 0)
        funded = n > 0 and c.cost <= left
        reason = "funded" if funded else "no_votes" if n == 0 else "does_not_fit"
        if funded:
            left -= c.cost
        outcomes.append(Outcome(c.project_id, n, c.cost, funded, rank, reason))
    return outcomes
