"""Evaluation's survey API: instruments, a contract's waves, the evaluator's draw and the
responses it records, per-resident scores and the change from the baseline. Each view
checks the caller's role, fetches in its scope (access.py), and commits what it changed
(the shipped instruments are stored on first use)."""
from shared import auth
from shared.api import Blueprint
from shared.errors import ApiError

from . import access, instruments, surveys
from .access import COMMISSIONING, EVALUATOR, SURVEY_READERS
from .models import SurveyInstrument, SurveyWave, db
from .survey_schemas import (ChangeOut, ChangeQuery, InstrumentOut, ResponseIn, ResponseOut,
                             SampledOut, SampleIn, WaveIn, WaveOut)

blp = Blueprint("surveys", __name__, description="Survey waves, samples and scores")


def _wave(claims, contract_id: str, wave_id: str):
    contract = access.contract(claims, contract_id)
    return contract, access.wave(contract, wave_id)


@blp.get("/instruments")
@blp.response(200, InstrumentOut(many=True))
def list_instruments():
    """Every stored instrument version: items, scale, reverse-scored items, subscales."""
    auth.require(*SURVEY_READERS)
    instruments.ensure_seeded()
    rows = db.session.scalars(db.select(SurveyInstrument).order_by(
        SurveyInstrument.key, SurveyInstrument.version)).all()
    db.session.commit()
    return [r.definition for r in rows]


@blp.get("/instruments/<key>/<int:version>")
@blp.response(200, InstrumentOut)
def get_instrument(key, version):
    auth.require(*SURVEY_READERS)
    definition = instruments.stored(key, version)
    db.session.commit()
    if definition is None:
        raise ApiError(404, f"Instrument {key} v{version} not found", f"未找到问卷 {key}")
    return definition


@blp.post("/contracts/<contract_id>/waves")
@blp.arguments(WaveIn)
@blp.response(201, WaveOut)
def create_wave(data, contract_id):
    """A baseline (one per contract) or follow-up wave, within the contract period."""
    claims = auth.require(*COMMISSIONING)
    wave = surveys.create_wave(access.contract(claims, contract_id), data, claims.sub)
    db.session.commit()
    return wave


@blp.get("/contracts/<contract_id>/waves")
@blp.response(200, WaveOut(many=True))
def list_waves(contract_id):
    contract = access.contract(auth.require(*SURVEY_READERS), contract_id)
    return db.session.scalars(db.select(SurveyWave).where(
        SurveyWave.contract_id == contract.id).order_by(SurveyWave.opens_on,
                                                        SurveyWave.id)).all()


@blp.get("/contracts/<contract_id>/waves/<wave_id>")
@blp.response(200, WaveOut)
def get_wave(contract_id, wave_id):
    return _wave(auth.require(*SURVEY_READERS), contract_id, wave_id)[1]


@blp.post("/contracts/<contract_id>/waves/<wave_id>/sample")
@blp.arguments(SampleIn)
@blp.response(201, WaveOut)
def draw_sample(data, contract_id, wave_id):
    """Draw the wave's sample (once): reproducible from its recorded seed, optionally
    stratified by grid and age band; published as survey.sample_drawn."""
    claims = auth.require(*EVALUATOR)
    contract, wave = _wave(claims, contract_id, wave_id)
    drawn = surveys.draw_sample(contract, wave, data, claims.sub)
    db.session.commit()
    return drawn


@blp.get("/contracts/<contract_id>/waves/<wave_id>/sample")
@blp.response(200, SampledOut(many=True))
def get_sample(contract_id, wave_id):
    """The sampled residents' pseudonymous references (contacts come from intake)."""
    return surveys.sample_of(_wave(auth.require(*COMMISSIONING), contract_id, wave_id)[1])


@blp.post("/contracts/<contract_id>/waves/<wave_id>/responses")
@blp.arguments(ResponseIn)
@blp.response(201, ResponseOut)
def record_response(data, contract_id, wave_id):
    """One sampled resident's answers to one instrument of the wave, scored."""
    response = surveys.record(_wave(auth.require(*EVALUATOR), contract_id, wave_id)[1], data)
    db.session.commit()
    return response


@blp.post("/contracts/<contract_id>/waves/<wave_id>/close")
@blp.response(200, WaveOut)
def close_wave(contract_id, wave_id):
    """No more responses after this."""
    claims = auth.require(*COMMISSIONING)
    wave = surveys.close(_wave(claims, contract_id, wave_id)[1], claims.sub)
    db.session.commit()
    return wave


@blp.get("/contracts/<contract_id>/waves/<wave_id>/scores")
@blp.response(200, ResponseOut(many=True))
def wave_scores(contract_id, wave_id):
    """Subscale scores per resident (anonymous instruments without a reference)."""
    return surveys.responses(_wave(auth.require(*COMMISSIONING), contract_id, wave_id)[1])


@blp.get("/contracts/<contract_id>/survey-change")
@blp.arguments(ChangeQuery, location="query")
@blp.response(200, ChangeOut)
def survey_change(args, contract_id):
    """Baseline to follow-up for one instrument: paired and Welch 95% intervals for the
    total and each subscale, and the paired change by participation rung."""
    contract = access.contract(auth.require(*SURVEY_READERS), contract_id)
    follow_up = access.wave(contract, args["follow_up"]) if "follow_up" in args else None
    if instruments.latest(args["instrument"]) is None:
        raise ApiError(422, fields={"instrument": [surveys.UNKNOWN_INSTRUMENT]})
    result = surveys.change(contract, args["instrument"], follow_up)
    db.session.commit()
    if result is None:
        raise ApiError(404, "The contract has no baseline and follow-up wave yet",
                       "该合同尚无基线和追踪调查")
    return result
