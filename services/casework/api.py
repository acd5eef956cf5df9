"""Casework's HTTP API: the agency's roster, the intake queue, cases, sessions, capacity
building, the council, corrections. Agencies write their own records; buyers read the
records of their contracts; nobody edits evidence except through a correction. Each view
checks the caller's role, fetches in its scope (access.py), and commits what it changed."""
import sqlalchemy as sa

from shared import auth
from shared.api import Blueprint
from shared.errors import ApiError

from . import access, activities, cases, council, files, qr_signin, signin
from .access import AGENCY, READERS, acting_worker, served_today
from .corrections import correct
from .models import (CapacityActivity, Case, CaseNote, Correction, CouncilDecision,
                     CouncilMeeting, CouncilTopic, DecisionProgress, KnownResident, Organization,
                     QueuedNeed, Session, Volunteer, Worker, db)
from .schemas import (ActivityIn, ActivityOut, CaseDetail, CaseIn, CaseOut, CloseIn,
                      CorrectionIn, CorrectionOut, DecisionIn, DecisionOut, FileHide, FileOut,
                      FileUpload, GoalIn, GoalOut,
                      KnownResidentOut, ListQuery, MeetingIn, MeetingOut, NoteIn, NoteOut,
                      OrganizationIn, OrganizationOut, OrganizationUpdate, ProgressIn,
                      ProgressOut, QueuedNeedOut, ResidentQuery, SessionIn, SessionOut,
                      SignInListOut, StaffSignInIn, TopicIn,
                      TopicOut, VolunteerIn, VolunteerOut, WorkerIn, WorkerOut, WorkerUpdate)

blp = Blueprint("casework", __name__, description="Cases, sessions, capacity building, council")


def _listed(model, args, day):
    """Readable records of `model`, filtered by community and by `day` (the record's own
    date column), newest first."""
    query = access.readable(auth.require(*READERS), model, sa.select(model))
    if "community_id" in args:
        query = query.where(model.community_id == args["community_id"])
    if "date_from" in args:
        query = query.where(day >= args["date_from"])
    if "date_to" in args:
        query = query.where(day <= args["date_to"])
    return db.session.scalars(query.order_by(day.desc())).all()


def committed(record):
    """The view owns the transaction: commit what its domain call staged, answer with it."""
    db.session.commit()
    return record


# -- roster ----------------------------------------------------------------------------------

@blp.get("/workers")
@blp.response(200, WorkerOut(many=True))
def list_workers():
    claims = auth.require(*AGENCY)
    return db.session.scalars(sa.select(Worker).where(Worker.agency_id == claims.agency_id)
                              .order_by(Worker.id)).all()


@blp.post("/workers")
@blp.arguments(WorkerIn)
@blp.response(201, WorkerOut)
def add_worker(data):
    claims = auth.require("agency_admin")
    if db.session.get(Worker, data["id"]):
        raise ApiError(409, f"Worker {data['id']} exists", f"社工 {data['id']} 已存在")
    worker = Worker(agency_id=claims.agency_id, **data)
    db.session.add(worker)
    return committed(worker)


@blp.patch("/workers/<worker_id>")
@blp.arguments(WorkerUpdate)
@blp.response(200, WorkerOut)
def update_worker(data, worker_id):
    claims = auth.require("agency_admin")
    worker = access.fetch(claims, Worker, worker_id)
    for key, value in data.items():
        setattr(worker, key, value)
    return committed(worker)


# -- residents, intake queue and cases ------------------------------------------------------

@blp.get("/residents")
@blp.arguments(ResidentQuery, location="query")
@blp.response(200, KnownResidentOut(many=True))
def list_residents(args):
    """Residents of the communities the agency serves today, by pseudonymous reference (for
    sign-in lists); names stay at intake."""
    claims = auth.require(*AGENCY)
    query = sa.select(KnownResident).where(
        KnownResident.community_id.in_(served_today(claims.agency_id)))
    for key in ("community_id", "grid_id"):
        if key in args:
            query = query.where(getattr(KnownResident, key) == args[key])
    return db.session.scalars(query.order_by(KnownResident.ref)).all()


@blp.get("/intake-queue")
@blp.response(200, QueuedNeedOut(many=True))
def intake_queue():
    claims = auth.require(*AGENCY)
    return db.session.scalars(sa.select(QueuedNeed).where(
        QueuedNeed.status == "awaiting",
        QueuedNeed.community_id.in_(served_today(claims.agency_id)))
        .order_by(QueuedNeed.safety_flag.desc(), QueuedNeed.reported_at)).all()


@blp.post("/cases")
@blp.arguments(CaseIn)
@blp.response(201, CaseOut)
def create_case(data):
    return committed(cases.open_case(data, acting_worker()))


@blp.get("/cases")
@blp.arguments(ListQuery, location="query")
@blp.response(200, CaseOut(many=True))
def list_cases(args):
    return _listed(Case, args, Case.opened_on)


@blp.get("/cases/<case_id>")
@blp.response(200, CaseDetail)
def get_case(case_id):
    claims = auth.require(*READERS)
    case = access.fetch(claims, Case, case_id)
    case.goals = cases.goals_of(case)
    case.notes = db.session.scalars(sa.select(CaseNote).where(CaseNote.case_id == case.id)
                                    .order_by(CaseNote.id)).all()
    if claims.role == "buyer_auditor":  # evidence, not the worker's case notes
        case.notes = []
    case.session_ids = db.session.scalars(sa.select(Session.id).where(
        Session.case_id == case.id).order_by(Session.date)).all()
    return case


@blp.post("/cases/<case_id>/goals")
@blp.arguments(GoalIn)
@blp.response(201, GoalOut)
def add_goal(data, case_id):
    claims = acting_worker()
    return committed(cases.set_goal(access.fetch(claims, Case, case_id), data))


@blp.post("/cases/<case_id>/notes")
@blp.arguments(NoteIn)
@blp.response(201, NoteOut)
def add_note(data, case_id):
    claims = acting_worker()
    return committed(cases.add_note(access.fetch(claims, Case, case_id), data, claims.sub))


@blp.post("/cases/<case_id>/close")
@blp.arguments(CloseIn)
@blp.response(200, CaseOut)
def close_case(data, case_id):
    claims = acting_worker()
    return committed(cases.close_case(access.fetch(claims, Case, case_id), data))


# -- sessions and capacity building ----------------------------------------------------------

@blp.post("/sessions")
@blp.arguments(SessionIn)
@blp.response(201, SessionOut)
def create_session(data):
    return committed(activities.record_session(data, acting_worker()))


@blp.get("/sessions")
@blp.arguments(ListQuery, location="query")
@blp.response(200, SessionOut(many=True))
def list_sessions(args):
    return _listed(Session, args, Session.date)


@blp.get("/sessions/<session_id>")
@blp.response(200, SessionOut)
def get_session(session_id):
    return access.fetch(auth.require(*READERS), Session, session_id)


@blp.get("/sessions/<session_id>/sign-in-sheet")
@blp.response(200, content_type="application/pdf")
def sign_in_sheet(session_id):
    """The session's printable sign-in sheet (PDF, Chinese), its QR code the session's id."""
    record = access.fetch(auth.require(*AGENCY), Session, session_id)
    response = files.served((signin.sign_in_sheet(record), "application/pdf"), record.id)
    response.headers["Content-Disposition"] = f'inline; filename="sign-in-{record.id}.pdf"'
    return response


@blp.post("/activities")
@blp.arguments(ActivityIn)
@blp.response(201, ActivityOut)
def create_activity(data):
    return committed(activities.record_activity(data, acting_worker()))


@blp.get("/activities")
@blp.arguments(ListQuery, location="query")
@blp.response(200, ActivityOut(many=True))
def list_activities(args):
    return _listed(CapacityActivity, args, CapacityActivity.date)


@blp.post("/volunteers")
@blp.arguments(VolunteerIn)
@blp.response(201, VolunteerOut)
def create_volunteer(data):
    return committed(activities.register_volunteer(data, acting_worker()))


@blp.get("/volunteers")
@blp.arguments(ListQuery, location="query")
@blp.response(200, VolunteerOut(many=True))
def list_volunteers(args):
    return _listed(Volunteer, args, Volunteer.registered_on)


@blp.post("/organizations")
@blp.arguments(OrganizationIn)
@blp.response(201, OrganizationOut)
def create_organization(data):
    return committed(activities.form_organization(data, acting_worker()))


@blp.get("/organizations")
@blp.arguments(ListQuery, location="query")
@blp.response(200, OrganizationOut(many=True))
def list_organizations(args):
    return _listed(Organization, args, Organization.formed_on)


@blp.patch("/organizations/<organization_id>")
@blp.arguments(OrganizationUpdate)
@blp.response(200, OrganizationOut)
def update_organization(data, organization_id):
    claims = acting_worker()
    organization = access.fetch(claims, Organization, organization_id)
    return committed(activities.update_organization(organization, data))


# -- the council ---------------------------------------------------------------------------

@blp.post("/council/topics")
@blp.arguments(TopicIn)
@blp.response(201, TopicOut)
def create_topic(data):
    return committed(council.propose_topic(data, acting_worker()))


@blp.get("/council/topics")
@blp.arguments(ListQuery, location="query")
@blp.response(200, TopicOut(many=True))
def list_topics(args):
    return _listed(CouncilTopic, args, CouncilTopic.proposed_on)


@blp.post("/council/meetings")
@blp.arguments(MeetingIn)
@blp.response(201, MeetingOut)
def create_meeting(data):
    return committed(council.hold_meeting(data, acting_worker()))


@blp.get("/council/meetings")
@blp.arguments(ListQuery, location="query")
@blp.response(200, MeetingOut(many=True))
def list_meetings(args):
    return _listed(CouncilMeeting, args, CouncilMeeting.date)


@blp.post("/council/meetings/<meeting_id>/decisions")
@blp.arguments(DecisionIn)
@blp.response(201, DecisionOut)
def create_decision(data, meeting_id):
    claims = acting_worker()
    meeting = access.fetch(claims, CouncilMeeting, meeting_id)
    return committed(council.decide(data, claims, meeting))


@blp.get("/council/decisions")
@blp.arguments(ListQuery, location="query")
@blp.response(200, DecisionOut(many=True))
def list_decisions(args):
    return _listed(CouncilDecision, args, CouncilDecision.decided_on)


@blp.post("/council/decisions/<decision_id>/progress")
@blp.arguments(ProgressIn)
@blp.response(201, ProgressOut)
def add_progress(data, decision_id):
    claims = acting_worker()
    decision = access.fetch(claims, CouncilDecision, decision_id)
    return committed(council.follow_through(decision, data, claims.sub))


@blp.get("/council/decisions/<decision_id>/progress")
@blp.response(200, ProgressOut(many=True))
def list_progress(decision_id):
    decision = access.fetch(auth.require(*READERS), CouncilDecision, decision_id)
    return db.session.scalars(sa.select(DecisionProgress).where(
        DecisionProgress.decision_id == decision.id).order_by(DecisionProgress.on,
                                                              DecisionProgress.id)).all()


# -- corrections ---------------------------------------------------------------------------

@blp.post("/corrections")
@blp.arguments(CorrectionIn)
@blp.response(201, CorrectionOut)
def create_correction(data):
    return committed(correct(data, acting_worker()))


@blp.get("/corrections")
@blp.response(200, CorrectionOut(many=True))
def list_corrections():
    claims = auth.require(*READERS)
    query = access.readable(claims, Correction, sa.select(Correction))
    return db.session.scalars(query.order_by(Correction.id)).all()


# -- evidence files --------------------------------------------------------------------------

FILES = "/records/<record_type>/<record_id>/files"


@blp.post(FILES)
@blp.arguments(FileUpload, location="files")
@blp.response(201, FileOut)
def upload_file(data, record_type, record_id):
    """Attach a file to one of the agency's records (sessions, capacity_activity,
    council_meeting, council_decision, decision_progress, case, organization)."""
    claims = acting_worker()
    return committed(files.attach(claims, record_type, record_id, data.get("file")))


@blp.get(FILES)
@blp.response(200, FileOut(many=True))
def list_files(record_type, record_id):
    return files.files_of(auth.require(*READERS), record_type, record_id)


@blp.get(FILES + "/<digest>")
@blp.response(200, content_type="application/octet-stream")
def get_file(record_type, record_id, digest):
    return files.served(files.opened(auth.require(*READERS), record_type, record_id, digest,
                                     "file"), digest)


@blp.get(FILES + "/<digest>/thumbnail")
@blp.response(200, content_type="image/jpeg")
def get_thumbnail(record_type, record_id, digest):
    return files.served(files.opened(auth.require(*READERS), record_type, record_id, digest,
                                     "thumbnail"), digest)


@blp.post(FILES + "/<digest>/hide")
@blp.arguments(FileHide)
@blp.response(200, FileOut)
def hide_file(data, record_type, record_id, digest):
    """A correction: the file is hidden from the record, with the reason; never deleted."""
    claims = acting_worker()
    return committed(files.hide(claims, record_type, record_id, digest, data["reason"]))


# -- the live sign-in list of a running session or activity (QR codes, docs/RESIDENTS.md) -----

SIGN_IN = "/records/<record_type>/<record_id>/sign-in"


@blp.get(SIGN_IN)
@blp.response(200, SignInListOut)
def sign_in_list(record_type, record_id):
    """This minute's QR link and code of a session or activity, and who signed in."""
    claims = auth.require(*AGENCY)
    return qr_signin.live_list(record_type, qr_signin.record_of(claims, record_type,
                                                                record_id))


@blp.post(SIGN_IN)
@blp.arguments(StaffSignInIn)
@blp.response(200, SignInListOut)
def add_to_sign_in(data, record_type, record_id):
    """A worker adds a resident by hand while the record runs (method `staff`)."""
    claims = acting_worker()
    record = qr_signin.record_of(claims, record_type, record_id)
    qr_signin.sign_in(record_type, record, data["resident_ref"], "staff")
    db.session.commit()
    return qr_signin.live_list(record_type, record)
