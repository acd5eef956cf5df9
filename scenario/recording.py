"""When each of the year's records is entered: the moment the platform's clock shows for its
call (the X-Socialwork-Clock header, honoured in development with SOCIALWORK_CLOCK=header;
shared/clock.py), so the events carry the times they would have been recorded at and a card
as of any day of the year holds what had been recorded by then.

Most records are entered the day they happen, a little after the session ends (a need soon
after it was reported); some days late; and around a milestone's due date more are late, as
workers catch up before the buyer counts: some within the contract's late-entry allowance
(they count for the milestone), a few beyond it (listed beside the milestone's card as late
entries). A few sessions of the milestone's last weeks are corrected after its due date,
within and beyond the allowance. The street office closes a milestone the day after its
allowance has run out. Everything is drawn from a generator of its own, so the rest of the
plan stays as it was for the seed (docs/SCENARIO.md)."""
import random
from datetime import date, datetime, time, timedelta

from shared.localtime import COMMUNITY_ZONE

from .calls import Call, Plan, milestones

ALLOWANCE = 15          # the contract's late-entry days (the scenario's contracts say so)
WINDOW = 21             # the days before a due date whose records are often late
LATE_ANY_TIME = 0.05    # of every record: entered one to five days late
LATE_WITHIN = 0.12      # of the window's records: entered after the due date, within allowance
LATE_BEYOND = 0.05      # … entered after the allowance has run out
BEYOND_DAYS = 10        # how long after the allowance the last of them is entered
CORRECTIONS = 4         # sessions of the window corrected after the due date
DAY_FIELDS = ("date", "opened_on", "closed_on", "set_on", "proposed_on", "decided_on", "on",
              "registered_on", "formed_on", "opens_on", "cast_on")
ADDRESSES = ("社区服务中心二楼活动室", "居委会会议室", "小区广场凉亭", "社区党群服务中心")


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=COMMUNITY_ZONE)


def cap(plan: Plan) -> datetime:
    """The last moment a record of the plan is entered: before the load day begins, so no
    event is stamped in the future whenever on that day the plan is loaded (the community's
    day, as the plan's end is)."""
    return _at(plan.end, time.min) - timedelta(minutes=1)


def earliest(day: date) -> datetime:
    """A record of `day` is entered in office hours of that day at the soonest (also on the
    server's own date of that day, whatever its zone)."""
    return max(_at(day, time(9)), datetime.combine(day, time(0, 30)).astimezone())


def evening(day: date) -> datetime:
    """The evening of a day, when a worker or evaluator writes up what they did."""
    return _at(day, time(20))


def late_milestones(plan: Plan) -> list[tuple[str, date, date]]:
    """The milestones whose late entries have all been made by the load day."""
    return [m for m in milestones(plan)
            if _at(m[2] + timedelta(days=ALLOWANCE + BEYOND_DAYS + 1), time(23)) <= cap(plan)]


def closing_time(due: date) -> datetime:
    """The street office closes a milestone the morning after its allowance has run out."""
    return _at(due + timedelta(days=ALLOWANCE + 1), time(10))


def day_of(call: Call) -> date | None:
    body = call.body or {}
    if "reported_at" in body:
        return datetime.fromisoformat(body["reported_at"]).astimezone(COMMUNITY_ZONE).date()
    for key in DAY_FIELDS:
        if key in body:
            return date.fromisoformat(body[key])
    return None


class Stamper:
    """Gives each call of the plan its recorded moment (`Call.at`)."""

    def __init__(self, plan: Plan):
        self.plan, self.last = plan, cap(plan)
        self.rng = random.Random(f"{plan.knobs.seed}/recording")
        self.windows = [due for _, _, due in late_milestones(plan)]
        self.opening = _at(plan.start, time(8))

    def stamp(self, chains: list[list[Call]]) -> None:
        for chain in chains:
            before = None
            for call in chain:
                if call.at is None and not call.fieldwork:
                    call.at = min(self.last, self.moment(call, before))
                before = call.at or before

    def moment(self, call: Call, before: datetime | None) -> datetime:
        day = day_of(call)
        if day is None:  # follows the call before it (a triage, a photo), or opens the year
            if before is None:
                self.opening += timedelta(seconds=1)
                return self.opening
            if call.photo:  # sent from the phone soon after the session is written up
                return before + timedelta(minutes=self.rng.uniform(1, 15))
            if call.path.startswith("/needs/"):  # a clerk triages within three days
                return before + timedelta(hours=self.rng.uniform(2, 72))
            return before + timedelta(seconds=self.rng.uniform(1, 60))
        moment = self.on_time(call, day, before)
        # the fund's steps are entered as they happen: each phase waits for the last
        return moment if call.path.startswith("/funds") else self.late(day, moment)

    def on_time(self, call: Call, day: date, before: datetime | None) -> datetime:
        body = call.body
        if "reported_at" in body:
            moment = datetime.fromisoformat(body["reported_at"]) + timedelta(
                minutes=self.rng.uniform(5, 90))
        elif "end" in body:  # written up after the session ends
            moment = _at(day, time.fromisoformat(body["end"])) + timedelta(
                minutes=self.rng.uniform(20, 150))
        else:
            moment = _at(day, time(10)) + timedelta(minutes=self.rng.uniform(0, 600))
        if before is not None and before.astimezone(COMMUNITY_ZONE).date() == day:
            moment = max(moment, before + timedelta(minutes=self.rng.uniform(1, 10)))
        return max(moment, earliest(day))

    def late(self, day: date, moment: datetime) -> datetime:
        draw = self.rng.random()
        for due in self.windows:
            if due - timedelta(days=WINDOW) <= day <= due:
                if draw < LATE_BEYOND:
                    return self.entered_on(due + timedelta(
                        days=ALLOWANCE + self.rng.randint(1, BEYOND_DAYS)))
                if draw < LATE_BEYOND + LATE_WITHIN:
                    return self.entered_on(due + timedelta(days=self.rng.randint(1, ALLOWANCE)))
        if draw > 1 - LATE_ANY_TIME:
            return moment + timedelta(days=self.rng.randint(1, 5))
        return moment

    def entered_on(self, day: date) -> datetime:
        return _at(day, time(9)) + timedelta(minutes=self.rng.uniform(0, 720))

    def at_least_one_late(self, work: list[list[Call]]) -> None:
        """However small the community, one session or activity of each window is entered
        after the allowance (one not followed by its photo), so every milestone shows a late
        entry."""
        for due in self.windows:
            beyond = due + timedelta(days=ALLOWANCE + 1)
            window = [(c, chain[i + 1] if i + 1 < len(chain) else None)
                      for chain in work for i, c in enumerate(chain)
                      if c.path in ("/sessions", "/activities")
                      and due - timedelta(days=WINDOW) <= day_of(c) <= due]
            if window and not any(c.at >= _at(beyond, time.min) for c, _ in window):
                alone = [c for c, after in window if after is None or not after.photo]
                if alone:
                    self.rng.choice(alone).at = self.entered_on(
                        beyond + timedelta(days=self.rng.randint(0, BEYOND_DAYS - 1)))

    def corrections(self, work: list[list[Call]]) -> list[list[Call]]:
        """Sessions of a milestone's last weeks corrected after the due date, half within
        the allowance, half beyond it: one that ran ten minutes over (its hours change; the
        slots leave a quarter of an hour between sessions), or one whose venue was written
        down wrong."""
        chains = []
        for due in self.windows:
            candidates = [c for chain in work for c in chain if c.path == "/sessions"
                          and c.produces and c.body["mode"] == "in_person"
                          and due - timedelta(days=WINDOW) <= day_of(c) <= due
                          and c.at.astimezone(COMMUNITY_ZONE).date() <= due]
            picked = self.rng.sample(candidates, min(CORRECTIONS, len(candidates)))
            if len(picked) == 1:  # the window's one session: corrected on either side
                picked *= 2
            for n, session in enumerate(picked):
                later = (self.rng.randint(2, ALLOWANCE - 1) if n % 2 == 0
                         else ALLOWANCE + self.rng.randint(1, BEYOND_DAYS))
                again = n > 0 and session is picked[n - 1]  # its venue, not its hours again
                if n < 2 and not again:  # one of each, either side of the allowance
                    ran = datetime.combine(day_of(session), time.fromisoformat(
                        session.body["end"])) + timedelta(minutes=10)
                    reason, changes = ("活动超时十分钟 / the session ran ten minutes over",
                                       {"end": ran.strftime("%H:%M")})
                else:
                    reason, changes = ("签到表上的活动地点记错了 / the venue was written down "
                                       "wrong", {"location": self.rng.choice(
                                           [a for a in ADDRESSES
                                            if a != session.body["location"]])})
                chains.append([Call(session.actor, "casework", "/corrections", {
                    "record_type": "session", "record_id": session.produces,
                    "reason": reason, "changes": changes},
                    at=self.entered_on(due + timedelta(days=later)))])
        return chains

    def closings(self, contract_id: str, actor: tuple) -> list[list[Call]]:
        """The street office closes each milestone whose allowance has run out."""
        return [[Call(actor, "evaluation", f"/contracts/{contract_id}/milestones/{m}/close",
                      at=closing_time(due))] for m, _, due in late_milestones(self.plan)]


def drawn_at(plan: Plan, due: date) -> datetime:
    """When the auditor draws a milestone's follow-up sample: a few days before the
    allowance runs out (the checks count for the milestone), at the latest half a day before
    the load day."""
    return min(closing_time(due) - timedelta(days=3), cap(plan) - timedelta(hours=12))
