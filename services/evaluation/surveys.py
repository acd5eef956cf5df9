"""Survey waves of a contract: the evaluator's reproducible sample of residents, responses
recorded against pseudonymous references (or anonymously), scores, and the change from the
baseline to a follow-up with its confidence interval, split by participation rung.

Evaluation never holds a resident's name or phone: it publishes the sample as
`survey.sample_drawn`, and intake releases the contacts of exactly those residents to the
evaluator. See docs/SURVEYS.md."""
import math
from collections import Counter
from datetime import date, timedelta
from statistics import mean

import sqlalchemy as sa

from shared import clock
from shared import outbox
from shared.db import new_id, read_once_each
from shared.errors import ApiError
from shared.clock import utcnow
from shared.i18n import bilingual, bilingual_pattern
from shared.release import CLOSE_MARGIN, last_release_day, sample_cap
from shared.vocabulary import RUNG_NAMES, RUNGS

from . import instruments, measures, sampling
from .models import (Contract, ResidentFact, SurveyCompletion, SurveyResponse, SurveySample,
                     SurveyWave, db, event_store)

STRATA = ("grid_id", "age_band")
RUNG_BEFORE = timedelta(days=365)

ONE_BASELINE = bilingual("The contract already has a baseline wave", "该合同已有基线调查")
NEEDS_BASELINE = bilingual("A follow-up wave needs the contract's baseline wave first",
                           "追踪调查须先有基线调查")
OUTSIDE_CONTRACT = bilingual("The wave falls within the contract period", "调查须在合同期内")
CLOSES_BEFORE_OPENS = bilingual("closes_on must not be before opens_on",
                                "结束日期不能早于开始日期")
UNKNOWN_INSTRUMENT = bilingual("Unknown instrument", "未知的问卷")
INSTRUMENT_TWICE = bilingual("An instrument may appear once in a wave",
                             "同一问卷在一轮调查中只能出现一次")
WAVE_CLOSED = bilingual("The wave is closed", "该轮调查已结束")
NOT_DRAWN = bilingual("The wave's sample has not been drawn", "该轮调查尚未抽样")
NOT_SAMPLED = bilingual("Not in this wave's sample", "不在本轮调查的样本中")
NOT_IN_WAVE = bilingual("Not an instrument of this wave", "不是本轮调查的问卷")
OUTSIDE_WAVE = bilingual("answered_on falls within the wave's dates", "回答日期须在调查期内")
TOO_FEW = bilingual("The sample is larger than the residents to draw from",
                    "样本量超过了可抽取的居民人数")
EMPTY_FRAME = bilingual("No residents of the contract's communities to draw from",
                        "合同所覆盖社区没有可抽取的居民")
CLOSES_AFTER_CONTRACT = bilingual(
    f"A wave closes at most {CLOSE_MARGIN.days} days after the contract period ends",
    f"调查须在合同期结束后 {CLOSE_MARGIN.days} 天内结束")
bilingual_pattern(r"^At most (\d+) more of the frame's (\d+) residents may be drawn for this "
                  r"contract$", r"本合同的抽样框 \2 名居民中最多还可抽取 \1 名")
PANEL_BASELINE = bilingual("Only a follow-up wave re-surveys the baseline sample",
                           "只有追踪调查可以沿用基线样本")


def _baseline(contract_id: str) -> SurveyWave | None:
    return db.session.scalar(sa.select(SurveyWave).where(
        SurveyWave.contract_id == contract_id, SurveyWave.kind == "baseline"))


def create_wave(contract: Contract, data: dict, by: str) -> SurveyWave:
    if db.session.get(SurveyWave, data["id"]) is not None:
        raise ApiError(409, f"Wave {data['id']} exists", f"调查 {data['id']} 已存在")
    baseline = _baseline(contract.id)
    problems = {}
    if data["kind"] == "baseline" and baseline is not None:
        problems["kind"] = [ONE_BASELINE]
    if data["kind"] == "follow_up" and baseline is None:
        problems["kind"] = [NEEDS_BASELINE]
    if data["closes_on"] < data["opens_on"]:
        problems["closes_on"] = [CLOSES_BEFORE_OPENS]
    if not contract.period_start <= data["opens_on"] <= contract.period_end:
        problems["opens_on"] = [OUTSIDE_CONTRACT]
    if data["closes_on"] > last_release_day(contract.period_end):
        problems["closes_on"] = [CLOSES_AFTER_CONTRACT]
    keys = data.get("instruments") or (
        [i["key"] for i in baseline.instruments] if baseline is not None and
        data["kind"] == "follow_up" else [d["key"] for d in instruments.SHIPPED])
    chosen = []
    for i, key in enumerate(keys):
        definition = instruments.latest(key)
        if definition is None:
            problems[f"instruments.{i}"] = [UNKNOWN_INSTRUMENT]
        elif key in keys[:i]:
            problems[f"instruments.{i}"] = [INSTRUMENT_TWICE]
        else:
            chosen.append({"key": key, "version": definition["version"]})
    if problems:
        raise ApiError(422, fields=problems)
    wave = SurveyWave(id=data["id"], contract_id=contract.id, kind=data["kind"],
                      instruments=chosen, opens_on=data["opens_on"],
                      closes_on=data["closes_on"], status="open", created_by=by)
    db.session.add(wave)
    return wave


# -- the draw ------------------------------------------------------------------------------

def frame(contract: Contract, opens_on: date) -> list[ResidentFact]:
    """Residents of the contract's communities registered by the day the wave opens, in
    reference order: the same frame gives the same sample for the same seed."""
    return db.session.scalars(sa.select(ResidentFact).where(
        ResidentFact.community_id.in_(contract.community_ids),
        ResidentFact.registered_on <= opens_on).order_by(ResidentFact.ref)).all()


def allocate(sizes: dict[str, int], total: int) -> dict[str, int]:
    """Proportional allocation of `total` over strata, by largest remainder (ties in
    stratum order): every stratum gets its share of the frame, rounded fairly."""
    population = sum(sizes.values())
    exact = {s: total * n / population for s, n in sizes.items()}
    counts = {s: math.floor(x) for s, x in exact.items()}
    by_remainder = sorted(sizes, key=lambda s: (-(exact[s] - counts[s]), s))
    for stratum in by_remainder[:total - sum(counts.values())]:
        counts[stratum] += 1
    return counts


def _stratum(resident, stratify_by: tuple[str, ...]) -> str:
    return "|".join(f"{a}={getattr(resident, a)}" for a in stratify_by) or "all"


def draw(residents: list, size: int, seed: int, stratify_by: tuple[str, ...]) -> dict:
    """A simple random sample within each stratum: every resident gets a random key from
    `random.Random(seed).random()` (whose sequence Python guarantees for a seed), in
    reference order, and the smallest keys of each stratum are drawn. Returns
    {stratum: [refs]}."""
    strata: dict[str, list] = {}
    for key, resident in sampling.keyed(residents, seed, order=lambda r: r.ref):
        strata.setdefault(_stratum(resident, stratify_by), []).append((key, resident.ref))
    counts = allocate({s: len(members) for s, members in strata.items()}, size)
    return {s: sorted(ref for _, ref in sorted(strata[s])[:counts[s]]) for s in sorted(strata)}


def draw_sample(contract: Contract, wave: SurveyWave, data: dict, by: str) -> SurveyWave:
    if wave.seed is not None:
        raise ApiError(409, f"The sample of wave {wave.id} is drawn",
                       f"调查 {wave.id} 已经抽样")
    if wave.status == "closed":
        raise ApiError(422, fields={"wave_id": [WAVE_CLOSED]})
    if data["panel"]:
        chosen, design = _panel(contract, wave)
    elif data["size"] is None:
        raise ApiError(422, fields={"size": ["Missing data for required field."]})
    else:
        chosen, design = _fresh(contract, wave, data)
    for stratum, refs in chosen.items():
        for ref in refs:
            db.session.add(SurveySample(wave_id=wave.id, resident_ref=ref, stratum=stratum))
    wave.seed, wave.sample_design = design["seed"], design
    wave.drawn_by, wave.drawn_at = by, utcnow()
    outbox.append(event_store, "survey.sample_drawn", f"survey-wave/{wave.id}", {
        "contract_id": contract.id, "wave_id": wave.id, "seed": wave.seed,
        "resident_refs": sorted(ref for refs in chosen.values() for ref in refs),
        "release_until": wave.closes_on.isoformat()})
    return wave


def _fresh(contract: Contract, wave: SurveyWave, data: dict):
    residents = frame(contract, wave.opens_on)
    if not residents:
        raise ApiError(422, fields={"size": [EMPTY_FRAME]})
    if data["size"] > len(residents):
        raise ApiError(422, fields={"size": [TOO_FEW]})
    room = sample_cap(len(residents)) - _drawn_for(contract)
    if data["size"] > room:  # all the contract's waves together stay within the cap
        most = max(room, 0)
        raise ApiError(422, fields={"size": [
            f"At most {most} more of the frame's {len(residents)} residents may be drawn for "
            "this contract"]})
    seed = data.get("seed")
    seed = sampling.new_seed() if seed is None else seed
    stratify_by = tuple(a for a in STRATA if a in data["stratify_by"])
    chosen = draw(residents, data["size"], seed, stratify_by)
    sizes = Counter(_stratum(resident, stratify_by) for resident in residents)
    return chosen, {"method": "stratified random" if stratify_by else "simple random",
                    "seed": seed, "size": data["size"], "stratify_by": list(stratify_by),
                    "frame_size": len(residents), "frame_registered_by": str(wave.opens_on),
                    "strata": {s: {"frame": sizes[s], "drawn": len(chosen[s])}
                               for s in sorted(sizes)}}


def _drawn_for(contract: Contract) -> int:
    """Residents the contract's waves have drawn so far, each once."""
    return db.session.scalar(sa.select(sa.func.count(sa.distinct(SurveySample.resident_ref)))
                             .join(SurveyWave, SurveyWave.id == SurveySample.wave_id)
                             .where(SurveyWave.contract_id == contract.id))


def _panel(contract: Contract, wave: SurveyWave):
    """A follow-up that asks the baseline's residents again, so changes can be paired."""
    baseline = _baseline(contract.id)
    if wave.kind != "follow_up" or baseline is None or baseline.seed is None:
        raise ApiError(422, fields={"panel": [PANEL_BASELINE]})
    rows = db.session.execute(sa.select(SurveySample.stratum, SurveySample.resident_ref).where(
        SurveySample.wave_id == baseline.id)).all()
    chosen: dict[str, list] = {}
    for stratum, ref in rows:
        chosen.setdefault(stratum, []).append(ref)
    return chosen, {"method": "panel", "panel_of": baseline.id, "seed": baseline.seed,
                    "size": len(rows)}


def sample_of(wave: SurveyWave) -> list[SurveySample]:
    return db.session.scalars(sa.select(SurveySample).where(
        SurveySample.wave_id == wave.id).order_by(SurveySample.resident_ref)).all()


def close(wave: SurveyWave, by: str) -> SurveyWave:
    if wave.status == "closed":
        raise ApiError(409, f"Wave {wave.id} is already closed", f"调查 {wave.id} 已结束")
    wave.status, wave.closed_by, wave.closed_at = "closed", by, utcnow()
    if wave.seed is not None:  # intake stops releasing the sample's contacts
        outbox.append(event_store, "survey.wave_closed", f"survey-wave/{wave.id}", {
            "contract_id": wave.contract_id, "wave_id": wave.id,
            "closed_on": clock.today().isoformat()})
    return wave


# -- responses ------------------------------------------------------------------------------

def record(wave: SurveyWave, data: dict) -> SurveyResponse:
    """Check a response against the wave, its sample and the instrument's rules, score it
    and keep it; nothing already recorded changes."""
    if wave.status == "closed":
        raise ApiError(422, WAVE_CLOSED, fields={"wave_id": [WAVE_CLOSED]})
    if wave.seed is None:
        raise ApiError(422, NOT_DRAWN, fields={"wave_id": [NOT_DRAWN]})
    version = next((i["version"] for i in wave.instruments if i["key"] == data["instrument"]),
                   None)
    if version is None:
        raise ApiError(422, fields={"instrument": [NOT_IN_WAVE]})
    ref = data["resident_ref"]
    if db.session.get(SurveySample, (wave.id, ref)) is None:
        raise ApiError(422, NOT_SAMPLED, fields={"resident_ref": [NOT_SAMPLED]})
    answered_on = data.get("answered_on") or clock.today()
    if not wave.opens_on <= answered_on <= wave.closes_on:
        raise ApiError(422, fields={"answered_on": [OUTSIDE_WAVE]})
    definition = instruments.stored(data["instrument"], version)
    problems = instruments.problems(definition, data["answers"])
    if problems:
        raise ApiError(422, fields=problems)
    if db.session.get(SurveyCompletion, (wave.id, data["instrument"], ref)) is not None:
        raise ApiError(409, f"{ref} has already answered {data['instrument']} in this wave",
                       f"{ref} 已在本轮调查中回答过该问卷", code="already_answered")
    db.session.add(SurveyCompletion(wave_id=wave.id, instrument_key=data["instrument"],
                                    resident_ref=ref))
    response = SurveyResponse(
        id=new_id(), wave_id=wave.id, instrument_key=data["instrument"],
        instrument_version=version, answered_on=answered_on, answers=data["answers"],
        resident_ref=None if definition["anonymous"] else ref,
        scores=instruments.score(definition, data["answers"]))
    db.session.add(response)
    return response


def responses(wave: SurveyWave, instrument: str | None = None, upto: date | None = None,
              grid_id: str | None = None) -> list[SurveyResponse]:
    query = sa.select(SurveyResponse).where(SurveyResponse.wave_id == wave.id)
    if instrument:
        query = query.where(SurveyResponse.instrument_key == instrument)
    if upto:
        query = query.where(SurveyResponse.answered_on <= upto)
    if grid_id:
        query = query.join(ResidentFact, ResidentFact.ref == SurveyResponse.resident_ref
                           ).where(ResidentFact.grid_id == grid_id)
    return db.session.scalars(query.order_by(SurveyResponse.resident_ref,
                                             SurveyResponse.instrument_key)).all()


# -- change from the baseline ----------------------------------------------------------------

def _interval(result) -> list | None:
    low, high = result.confidence_interval(0.95)
    return None if math.isnan(low) else [round(float(low), 4), round(float(high), 4)]


def _stats():
    """scipy.stats, imported on first use: importing it takes over a second, which every
    evaluation process (API worker, consumer, relay, migration) would pay at start."""
    from scipy import stats
    return stats


def paired(before: list[float], after: list[float]) -> dict:
    """Mean of the differences (after − before) with its 95% t interval (n − 1 df)."""
    n = len(before)
    out = {"method": "paired t", "n": n,
           "mean_baseline": round(mean(before), 4) if n else None,
           "mean_follow_up": round(mean(after), 4) if n else None,
           "change": round(mean(a - b for a, b in zip(after, before)), 4) if n else None,
           "ci95": None}
    if n >= 2:
        out["ci95"] = _interval(_stats().ttest_rel(after, before))
    return out


def welch(before: list[float], after: list[float]) -> dict:
    """Difference of the wave means with Welch's 95% interval (independent samples)."""
    out = {"method": "Welch t", "n_baseline": len(before), "n_follow_up": len(after),
           "mean_baseline": round(mean(before), 4) if before else None,
           "mean_follow_up": round(mean(after), 4) if after else None,
           "change": round(mean(after) - mean(before), 4) if before and after else None,
           "ci95": None}
    if len(before) >= 2 and len(after) >= 2:
        out["ci95"] = _interval(_stats().ttest_ind(after, before, equal_var=False))
    return out


def _scores_by_resident(rows) -> dict[str, dict]:
    return {r.resident_ref: r.scores for r in rows if r.resident_ref is not None}


def _rung_name(rung: int | None) -> str:
    return RUNG_NAMES.get(rung, "none")


def change(contract: Contract, instrument: str, follow_up: SurveyWave | None = None,
           upto: date | None = None, grid_id: str | None = None) -> dict | None:
    """Baseline to follow-up, for the total and each subscale: paired for residents who
    answered both waves, Welch for all respondents of each; for identified instruments the
    paired change of the total by the rung residents reached between the waves and by
    whether they climbed above their rung of the year before the baseline."""
    waves = _waves(contract.id)
    baseline = next((w for w in waves if w.kind == "baseline"), None)
    follow_up = follow_up or latest_follow_up(contract, upto)
    version = next((i["version"] for i in baseline.instruments if i["key"] == instrument),
                   None) if baseline is not None else None
    if version is None or follow_up is None:
        return None
    before = responses(baseline, instrument, upto, grid_id)
    after = responses(follow_up, instrument, upto, grid_id)
    definition = instruments.stored(instrument, version)
    old, new = _scores_by_resident(before), _scores_by_resident(after)
    both = sorted(set(old) & set(new))

    def figures(pick):
        return {"paired": paired([pick(old[r]) for r in both], [pick(new[r]) for r in both]),
                "independent": welch([pick(r.scores) for r in before],
                                     [pick(r.scores) for r in after])}
    result = {"instrument": instrument, "baseline_wave": baseline.id,
              "follow_up_wave": follow_up.id, "total": figures(lambda s: s["total"]),
              "subscales": {s["key"]: figures(lambda sc, k=s["key"]: sc["subscales"][k])
                            for s in definition["subscales"]}}
    if not definition["anonymous"]:
        result.update(_by_rung(contract, baseline, follow_up, both, old, new))
    return result


def _by_rung(contract, baseline, follow_up, refs, old, new) -> dict:
    communities = tuple(contract.community_ids)
    between = measures.highest_rungs(measures.Scope(communities, baseline.opens_on,
                                                    follow_up.closes_on))
    earlier = measures.highest_rungs(measures.Scope(
        communities, baseline.opens_on - RUNG_BEFORE, baseline.opens_on - timedelta(days=1)))
    groups: dict[str, list] = {}
    climbed: dict[str, list] = {"climbed": [], "did_not_climb": []}
    for ref in refs:
        groups.setdefault(_rung_name(between.get(ref)), []).append(ref)
        went_up = between.get(ref, 0) > earlier.get(ref, 0)
        climbed["climbed" if went_up else "did_not_climb"].append(ref)

    def stats_of(members):
        return paired([old[r]["total"] for r in members], [new[r]["total"] for r in members])
    order = ["none", *RUNGS]
    return {"by_rung": {name: stats_of(groups[name]) for name in order if name in groups},
            "by_climb": {name: stats_of(members) for name, members in climbed.items()}}


def latest_follow_up(contract: Contract, upto: date | None = None) -> SurveyWave | None:
    return next((w for w in _waves(contract.id) if w.kind == "follow_up"
                 and (upto is None or w.opens_on <= upto)), None)


def _waves(contract_id: str) -> list[SurveyWave]:
    return waves_of([contract_id])[contract_id]


def waves_of(contract_ids) -> dict[str, list[SurveyWave]]:
    """Each contract's waves, newest first, read once per transaction by what only reads
    them (a card's three survey indicators asked five times), for every contract asked."""
    def read(ids):
        found: dict[str, list[SurveyWave]] = {}
        for wave in db.session.scalars(sa.select(SurveyWave).where(
                SurveyWave.contract_id.in_(ids)).order_by(
                SurveyWave.opens_on.desc(), SurveyWave.id.desc())):
            found.setdefault(wave.contract_id, []).append(wave)
        return found
    return read_once_each(db.session, "survey waves", contract_ids, read)


# -- scorecard indicators --------------------------------------------------------------------

def _change_value(contract, scope, instrument):
    result = change(contract, instrument, upto=scope.end, grid_id=scope.grid_id)
    if result is None:
        return None
    pairs, waves = result["total"]["paired"], result["total"]["independent"]
    return pairs["change"] if pairs["n"] else waves["change"]


def satisfaction(contract: Contract, scope) -> float | None:
    """Share of respondents satisfied (total at or above the instrument's threshold) in
    the latest wave answered by the scope's end; anonymous, so none for one grid."""
    if scope.grid_id:
        return None
    for wave in (w for w in _waves(contract.id) if w.opens_on <= scope.end):
        rows = responses(wave, SERVICE_SATISFACTION, scope.end)
        if rows:
            threshold = instruments.stored(SERVICE_SATISFACTION, rows[0].instrument_version
                                           )["satisfied_at"]
            return round(sum(1 for r in rows if r.scores["total"] >= threshold) / len(rows), 4)
    return None


SERVICE_SATISFACTION = "service_satisfaction"
INDICATORS = {  # scorecard measure -> its figure for a contract and scope
    "empowerment_change": lambda c, s: _change_value(c, s, "sociopolitical_control"),
    "community_identity_change": lambda c, s: _change_value(c, s, "sense_of_community"),
    "service_satisfaction": satisfaction,
}
