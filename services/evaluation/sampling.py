"""Seeded random draws that repeat exactly, on any Python: each item, in a fixed order, gets
a key from `random.Random(seed).random()` (the one sequence Python promises to keep for a
seed) and a draw takes the smallest keys. The seed is recorded with every draw."""
import random
import secrets

from shared.vocabulary import MAX_SEED


def new_seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


def keyed(items, seed: int, order) -> list[tuple[float, object]]:
    """(key, item) for each item, items taken in `order`."""
    rng = random.Random(seed)
    return [(rng.random(), item) for item in sorted(items, key=order)]


def draw(items, size: int, seed: int, order) -> list:
    """`size` items drawn at random, in the order they were drawn."""
    return [item for _, item in sorted(keyed(items, seed, order), key=lambda k: k[0])[:size]]
