"""The independent evaluator's surveys (docs/SURVEYS.md): a baseline early in the contract
year and a panel follow-up near its end. The waves and their draws are planned calls; who
is drawn is only known once evaluation has drawn, so the fieldwork (contacts from intake,
then the answers) is a call the client carries out with `responses`, which is pure: the
same sample and instruments (as evaluation's API publishes them) give the same
respondents and answers for the seed.

The story the answers tell: a resident's sense of control and of community starts from how
keen they are, and grows over the year with the highest rung of the participation ladder
they reached (those who climbed gain more); satisfaction is high, a little higher for those
the agency reached."""
import random
from datetime import date, timedelta

from shared.vocabulary import MAX_SEED

from .calls import Call, Plan

SAMPLE_MOST = 200
ANSWER_SHARE = {"baseline": 0.6, "follow_up": 0.8}  # follow-up: of the baseline's respondents
GAIN_BY_RUNG = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)      # none, served, … leader
GAIN_SHARE = {"sociopolitical_control": 1.0, "sense_of_community": 0.6,
              "service_satisfaction": 0.3}


def sample_size(residents: int) -> int:
    return min(residents, SAMPLE_MOST, max(10, residents // 10))


def respondent_counts(size: int) -> dict[str, int]:
    """Respondents of each wave for a sample of `size` (the follow-up asks the same sample
    and reaches a share of those who answered the baseline)."""
    baseline = round(ANSWER_SHARE["baseline"] * size)
    return {"baseline": baseline, "follow_up": round(ANSWER_SHARE["follow_up"] * baseline)}


def windows(plan: Plan) -> dict[str, tuple[date, date]]:
    """(first, last) answering day of each wave: the baseline's first three weeks from a
    week into the year, the follow-up's last four weeks before the year's end (shorter in
    a short year, so the two never overlap)."""
    span = (plan.end - plan.start).days
    baseline_opens = plan.start + timedelta(days=min(7, span // 10))
    return {"baseline": (baseline_opens, baseline_opens + timedelta(days=min(20, span // 4))),
            "follow_up": (plan.end - timedelta(days=min(28, span // 3)),
                          plan.end - timedelta(days=1))}


def wave_id(contract_id: str, kind: str) -> str:
    return f"{contract_id}-{kind.replace('_', '-')}"


def survey_chains(plan: Plan, contract_id: str, residents: int,
                  rng: random.Random) -> tuple[list, list]:
    """(the waves and their draws, the fieldwork): one chain each, in order. Both waves stay
    open until the load day, so intake still releases their contacts when the plan runs."""
    evaluator, base = ("evaluator", contract_id), f"/contracts/{contract_id}/waves"
    draws, fieldwork = [], []
    for kind, (opens, _) in windows(plan).items():
        wave = wave_id(contract_id, kind)
        draw = {"panel": True} if kind == "follow_up" else {
            "size": sample_size(residents), "seed": rng.randint(0, MAX_SEED),
            "stratify_by": ["age_band"]}
        draws += [Call(evaluator, "evaluation", base, {
                      "id": wave, "kind": kind, "opens_on": opens.isoformat(),
                      "closes_on": plan.end.isoformat()}),
                  Call(evaluator, "evaluation", f"{base}/{wave}/sample", draw)]
        fieldwork.append(Call(evaluator, "evaluation", f"{base}/{wave}/responses",
                              fieldwork={"wave": wave, "kind": kind,
                                         "size": sample_size(residents)}))
    return [draws], [fieldwork]


def _key(seed: int, person, purpose: str) -> float:
    return random.Random(f"{seed}/{person.grid}/{person.index}/{purpose}").random()


def respondents(seed: int, sampled: list, kind: str) -> list:
    """Who answers, of the sampled (ref, person, rung): the baseline's share of them, and at
    the follow-up a share of those who answered the baseline (the rest were not reached)."""
    counts = respondent_counts(len(sampled))
    answered = sorted(sampled, key=lambda s: _key(seed, s[1], "baseline"))[:counts["baseline"]]
    if kind == "baseline":
        return answered
    return sorted(answered, key=lambda s: _key(seed, s[1], "follow_up"))[:counts["follow_up"]]


def answers(seed: int, person, rung: int, kind: str, definition: dict) -> dict:
    instrument = definition["key"]
    rng = random.Random(f"{seed}/{person.grid}/{person.index}/{kind}/{instrument}")
    if instrument == "service_satisfaction":
        level = 4.2 + 0.1 * rung
    else:
        level = 2.4 + 0.25 * min(person.propensity, 4)
    if kind == "follow_up":
        level += GAIN_BY_RUNG[rung] * GAIN_SHARE[instrument]
    out = {}
    for item in definition["items"]:
        agree = min(5, max(1, round(level + rng.gauss(0, 0.7))))
        out[item["key"]] = 6 - agree if item["reverse"] else agree
    return out


def responses(plan: Plan, kind: str, sampled: list, instruments: list[dict]) -> list[dict]:
    """The response bodies of a wave: `sampled` holds each drawn resident's (ref, person in
    the plan, highest rung reached over the year); `instruments`, the definitions of the
    wave's instruments (items, reverse-scored ones), in the wave's order."""
    seed = plan.knobs.seed
    first, last = windows(plan)[kind]
    bodies = []
    for ref, person, rung in respondents(seed, sampled, kind):
        day = first + timedelta(days=int(_key(seed, person, f"{kind}-day")
                                         * ((last - first).days + 1)))
        bodies += [{"resident_ref": ref, "instrument": definition["key"],
                    "answered_on": day.isoformat(),
                    "answers": answers(seed, person, rung, kind, definition)}
                   for definition in instruments]
    return bodies
