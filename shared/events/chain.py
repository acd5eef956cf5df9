"""Audit of a source's event stream: gaps in its sequence and breaks in its hash chain.

A break means an event's `prevhash` is not the hash of the event before it: the source's
record was rewritten (or an event forged) after the fact.
"""
from dataclasses import dataclass, field

from .envelope import GENESIS_HASH, Event


@dataclass
class ChainReport:
    source: str
    events: int = 0
    head: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)  # missing (from, to) inclusive
    breaks: list[int] = field(default_factory=list)  # sequences whose prevhash is wrong

    @property
    def intact(self) -> bool:
        return not self.gaps and not self.breaks

    def as_dict(self) -> dict:
        return {"source": self.source, "events": self.events, "head": self.head,
                "gaps": [list(g) for g in self.gaps], "breaks": self.breaks,
                "intact": self.intact}


def audit(source: str, events) -> ChainReport:
    """`events`: the source's events in any order (duplicates by sequence are a break)."""
    report = ChainReport(source)
    previous: Event | None = None
    for event in sorted(events, key=lambda e: e.sequence):
        report.events += 1
        expected_seq = previous.sequence + 1 if previous else 1
        if event.sequence < expected_seq:  # the same sequence twice: two histories
            report.breaks.append(event.sequence)
            continue
        if event.sequence > expected_seq:
            report.gaps.append((expected_seq, event.sequence - 1))
        elif event.prevhash != (previous.hash() if previous else GENESIS_HASH):
            report.breaks.append(event.sequence)
        previous = event
    report.head = previous.sequence if previous else 0
    return report
