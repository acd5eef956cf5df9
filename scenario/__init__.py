"""The T-community scenario: a contract year of government-purchased community social work,
planned from a seed (`plan`), driven through the services' public HTTP APIs with role tokens
(`client`), and the figures evaluation must arrive at from the events alone (`truth`).

`python -m scenario --residents N --months M --agencies A --communities C --seed S`
loads a scenario into a running platform. See docs/SCENARIO.md.
"""
from .calls import SIZES, Knobs, Plan
from .plan import build_plan

__all__ = ["SIZES", "Knobs", "Plan", "build_plan"]
