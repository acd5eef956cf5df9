"""`python -m scenario`: plan a contract year from a seed and load it into a running
platform through its HTTP APIs (the URLs come from INTAKE_URL, CASEWORK_URL, EVALUATION_URL
or the default ports), then wait until evaluation has consumed every event."""
import argparse
import time

from .client import Client
from .calls import SIZES, Knobs
from .plan import build_plan


def knob_arguments(parser: argparse.ArgumentParser) -> None:
    """The scenario's size and seed, shared with `python -m launcher`."""
    default = SIZES["default"]
    parser.add_argument("--size", choices=sorted(SIZES),
                        help="a preset; the knobs below override it")
    for knob in ("residents", "months", "agencies", "communities", "seed"):
        parser.add_argument(f"--{knob}", type=int,
                            help=f"default {getattr(default, knob)}")
    parser.add_argument("--threads", type=int, default=6,
                        help="parallel HTTP calls (default 6)")


def knobs_from(args) -> Knobs:
    preset = SIZES[args.size or "default"]
    chosen = {k: getattr(args, k) for k in ("residents", "months", "agencies", "communities",
                                            "seed") if getattr(args, k) is not None}
    return Knobs(**{**preset.__dict__, **chosen})


def load(knobs: Knobs, threads: int = 6, client: Client | None = None,
         timeout: float = 3600, clock: bool = False) -> Client:
    """Plan, load and wait until evaluation has everything; the client holds the ids."""
    client = client or Client(threads=threads, clock=clock)
    started = time.monotonic()
    plan = build_plan(knobs)
    print(f"场景 / scenario: {knobs.residents} residents, {knobs.communities} communities, "
          f"{knobs.agencies} agencies, {knobs.months} months, seed {knobs.seed}: "
          f"{plan.count()} calls, contract year {plan.start} to {plan.end}", flush=True)
    client.load(plan, timeout)
    client.wait_for_evaluation(timeout)
    have, _ = client.consumed()
    print(f"loaded in {time.monotonic() - started:.0f}s; evaluation holds {have} events",
          flush=True)
    return client


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scenario", description=__doc__)
    knob_arguments(parser)
    parser.add_argument("--clock", action="store_true",
                        help="send each call's recorded time (X-Socialwork-Clock): for a "
                             "platform started with SOCIALWORK_CLOCK=header")
    args = parser.parse_args()
    load(knobs_from(args), args.threads, clock=args.clock)

