"""Runs a plan against the services' public HTTP APIs, as the users would: each call with a
token of its actor's role (minted as `flask … token` does), chains in parallel on a thread
pool, phases one after the other, waiting between them for what the next phase needs to have
reached casework through the event bus. Never touches a database."""
import csv
import io
import sys
import threading
import time
from datetime import date
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

import requests

from shared import auth, clock, config

from . import fieldwork, photos, recording, truth
from .calls import Call, Plan, Ref



class ScenarioError(RuntimeError):
    """A call the plan expected to succeed was refused, or the platform did not catch up."""


def token(actor: tuple) -> str:
    role, *scope = actor
    claims = {"intake_clerk": lambda: {"community_ids": [scope[0]]},
              "social_worker": lambda: {"agency_id": scope[0]},
              "agency_admin": lambda: {"agency_id": scope[0]},
              "buyer_auditor": lambda: {"buyer_id": scope[0]},
              "evaluator": lambda: {"contract_id": scope[0]},
              "resident": lambda: {"community_ids": [scope[0]]}}.get(role, dict)()
    sub = scope[1] if role in ("social_worker", "resident") else \
        f"scenario-{role}-{'-'.join(scope)}"
    return auth.mint(role, sub.rstrip("-"), issuer=auth.HOME.get(role, "intake"), **claims)


class Progress:
    """A line now and then: long loads say how far they are."""

    def __init__(self, out=sys.stdout, every: float = 5.0):
        self.out, self.every, self.last = out, every, 0.0

    def __call__(self, message: str, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= self.every:
            self.last = now
            print(message, file=self.out, flush=True)


class Client:
    """Plays a plan through the APIs, remembering the ids the services assign."""

    def __init__(self, urls: dict | None = None, threads: int = 6, progress=None,
                 clock: bool = False):
        self.urls = urls or {s: config.service_url(s) for s in config.SERVICES}
        # whether each call says when it is recorded: the platform runs with
        # SOCIALWORK_CLOCK=header (development only); otherwise all is recorded now
        self.clock = clock
        self.threads = threads            # chains of a phase run this many at once
        self.progress = progress or Progress()
        self.ids: dict[Ref, str] = {}     # what each Ref of the plan stands for
        self.tokens: dict[tuple, str] = {}  # actor -> its token, minted once
        self.local = threading.local()    # one HTTP session per thread
        self.lock = threading.Lock()      # guards `done` and `ladders`
        self.cancelled = threading.Event()  # a chain failed: the others stop
        self.done = 0                     # calls made in the current phase
        self.plan: Plan | None = None     # the plan being loaded
        self.ladders: dict[str, dict] = {}  # contract -> resident Ref -> highest rung

    # -- HTTP -------------------------------------------------------------------------------

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def headers(self, actor: tuple) -> dict:
        if actor not in self.tokens:  # a resident is named by the ref intake gave them
            self.tokens[actor] = token(tuple(self.resolve(a) for a in actor))
        return {"Authorization": f"Bearer {self.tokens[actor]}"}

    def request(self, method: str, service: str, path: str, actor: tuple, at=None, **kw):
        """One request (recorded at `at` on the platform's clock, if it takes it from us);
        a connection error or a 5xx (a busy database) is tried again."""
        headers = self.headers(actor)
        if at is not None and self.clock:
            headers = {**headers, clock.HEADER: at.isoformat()}
        for attempt in range(5):
            try:
                response = self.session().request(method, self.urls[service] + path,
                                                  headers=headers, timeout=120, **kw)
                if response.status_code < 500:
                    return response
            except requests.ConnectionError:
                if attempt == 4:
                    raise
            time.sleep(0.5 * 2 ** attempt)
        return response

    def get(self, service: str, path: str, actor=("ops_admin",), **params):
        response = self.request("GET", service, path, actor, params=params)
        if not response.ok:
            raise ScenarioError(f"GET {service}{path}: {response.status_code} {response.text}")
        return response.json()

    # -- running a plan ---------------------------------------------------------------------

    def resolve(self, value):
        if isinstance(value, Ref):
            try:
                return self.ids[value]
            except KeyError:
                raise ScenarioError(f"{value} was never produced") from None
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def call(self, call: Call) -> None:
        path = call.path
        for ref in (call.path_ref if isinstance(call.path_ref, tuple) else
                    (call.path_ref,) if call.path_ref else ()):
            path = path.replace("{}", self.resolve(ref), 1)
        if call.upload:
            return self.upload(call, path)
        if call.fieldwork:
            return self.survey(call, path)
        if call.photo:
            return self.photograph(call, path)
        method = call.method
        response = self.request(method, call.service, path, call.actor, at=call.at,
                                json=self.resolve(call.body))
        if not response.ok:
            raise ScenarioError(f"{method} {call.service}{path} as {call.actor[0]}: "
                                f"{response.status_code} {response.text[:2000]}\n"
                                f"body: {self.resolve(call.body)}")
        if call.produces:
            reply = response.json()
            self.ids[call.produces] = reply.get("id") or reply["ref"]
        for ref, key in (call.keeps or {}).items():
            self.ids[ref] = response.json()[key]

    def upload(self, call: Call, path: str) -> None:
        """A roster sheet, as a clerk's workstation sends it; each row's resident ref."""
        rows = self.resolve(call.upload["rows"])
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        response = self.request("POST", call.service, path, call.actor, at=call.at,
                                data={"community_id": call.upload["community_id"]},
                                files={"file": ("roster.csv", out.getvalue().encode("utf-8"),
                                                "text/csv")})
        result = response.json() if response.ok else {}
        if not response.ok or result["failed"]:
            raise ScenarioError(f"roster import: {response.status_code} "
                                f"{result.get('failed') or response.text[:2000]}")
        community, first = call.upload["community_id"], call.upload["first"]
        for offset, resident in enumerate(result["residents"]):
            self.ids[Ref("resident", (community, first + offset))] = resident["ref"]

    def photograph(self, call: Call, path: str) -> None:
        """A worker's photo of a session, sent as a phone's browser sends it."""
        response = self.request("POST", call.service, path, call.actor, at=call.at, files={
            "file": ("IMG.jpg", photos.photo(call.photo["key"], call.photo["taken"]),
                     "image/jpeg")})
        if not response.ok and response.status_code != 409:  # 409: a retry, already there
            raise ScenarioError(f"photo {path}: {response.status_code} {response.text[:500]}")
        if call.produces:  # a receipt: the expense cites it by digest
            self.ids[call.produces] = response.json()["digest"]

    def survey(self, call: Call, path: str) -> None:
        """A wave's fieldwork: the evaluator fetches the sample's contacts from intake (once
        intake has the draw) and records the answers of those reached."""
        wave, released = call.fieldwork["wave"], []

        def contacts_arrived():
            response = self.request("GET", "intake", f"/survey-waves/{wave}/contacts",
                                    call.actor)
            if response.status_code != 404 and not response.ok:
                raise ScenarioError(f"contacts of {wave}: {response.status_code} "
                                    f"{response.text[:2000]}")
            released.extend(response.json() if response.ok else [])
            return response.ok
        until(contacts_arrived, 240, f"intake to release the contacts of {wave}")
        person_of = {ref: plan_ref for plan_ref, ref in self.ids.items()
                     if plan_ref.kind == "resident"}
        rungs = self.rungs(call.actor[1])
        sampled = [(c["resident_ref"], self.plan.people[person_of[c["resident_ref"]]],
                    rungs.get(person_of[c["resident_ref"]], 0)) for c in released]
        instruments = self.instruments(call.actor, path.removesuffix("/responses"))
        for body in fieldwork.responses(self.plan, call.fieldwork["kind"], sampled,
                                        instruments):
            # written up the evening it was answered; one answered on the load day, now
            answered = recording.evening(date.fromisoformat(body["answered_on"]))
            response = self.request("POST", call.service, path, call.actor, json=body,
                                    at=answered if answered <= recording.cap(self.plan) else None)
            if not response.ok:
                raise ScenarioError(f"POST {path}: {response.status_code} "
                                    f"{response.text[:2000]}\nbody: {body}")

    def instruments(self, actor: tuple, wave_path: str) -> list[dict]:
        """The definitions of a wave's instruments, as evaluation publishes them."""
        wave = self.get("evaluation", wave_path, actor)
        return [self.get("evaluation", f"/instruments/{i['key']}/{i['version']}", actor)
                for i in wave["instruments"]]

    def rungs(self, contract_id: str) -> dict:
        with self.lock:
            if contract_id not in self.ladders:
                self.ladders[contract_id] = truth.rungs(self.plan, contract_id)
            return self.ladders[contract_id]

    def chain(self, calls: list[Call]) -> None:
        for call in calls:
            if self.cancelled.is_set():
                return
            self.call(call)
            with self.lock:
                self.done += 1

    def phase(self, name: str, chains: list) -> None:
        total = sum(len(c) for c in chains)
        self.done, started = 0, time.monotonic()
        with ThreadPoolExecutor(self.threads) as pool:
            pending = {pool.submit(self.chain, c) for c in chains}
            try:
                while pending:
                    finished, pending = wait(pending, timeout=1, return_when=FIRST_EXCEPTION)
                    for future in finished:
                        if future.exception():
                            raise future.exception()
                    self.progress(f"  {name}: {self.done}/{total} calls")
            except BaseException:  # a refused call, or Ctrl-C: the other chains stop too
                self.cancelled.set()
                raise
        self.progress(f"  {name}: {total} calls in {time.monotonic() - started:.0f}s",
                      force=True)

    def load(self, plan: Plan, timeout: float = 3600) -> None:
        self.plan = plan
        for name, chains in plan.phases:
            if name == "setup":  # contracts are awarded within what evaluation has learnt
                self.wait_for_evaluation(timeout)
            if name == "casework":
                self.wait_for_casework(plan, timeout)
            if name in ("verification", "milestones", "evaluations"):  # drawn, closed and
                self.wait_for_evaluation(timeout)  # scored from what evaluation holds
            if name == "evaluations" and not self.clock:
                self.progress("  evaluations: not scored (no milestone was closed)", force=True)
                continue
            if name == "milestones" and not self.clock:
                # closed now, a milestone would count nothing recorded after its allowance
                self.progress("  milestones: not closed (the platform's clock is its own, so "
                              "the year was recorded today)", force=True)
                continue
            self.phase(name, chains)

    # -- waiting on the event bus -----------------------------------------------------------

    def head(self, service: str) -> int:
        return self.get(service, "/events", limit=1)["head"]

    def wait_for_casework(self, plan: Plan, timeout: float) -> None:
        """Casework has every intake event (residents, needs, withdrawals) and each agency's
        contract, before the agency records anything."""
        agencies = sorted({c.actor[1] for c in plan.calls() if c.actor[0] == "social_worker"})

        def caught_up():
            head = self.head("intake")
            seen = {r["source"]: r["events"] for r in self.get("casework", "/events/integrity")}
            self.progress(f"  casework has {seen.get('/intake', 0)}/{head} intake events")
            # an agency sees residents only once its contract has arrived too
            return seen.get("/intake", 0) >= head and all(
                self.get("casework", "/residents", ("agency_admin", a)) for a in agencies)
        until(caught_up, timeout, "casework to receive intake's events and the contracts")

    def consumed(self) -> tuple[int, int]:
        """(events evaluation has, events the producers it consumes have published)."""
        produced = self.head("intake") + self.head("casework")
        return self.get("evaluation", "/event-counts")["total"], produced

    def wait_for_evaluation(self, timeout: float = 3600) -> None:
        def caught_up():
            have, produced = self.consumed()
            self.progress(f"  evaluation has consumed {have}/{produced} events")
            return have >= produced
        until(caught_up, timeout, "evaluation to consume every published event")


def until(predicate, timeout: float, what: str, interval: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise ScenarioError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
