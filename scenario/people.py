"""The residents of a generated community: households of realistic make-up, each person with
a name, a valid resident ID number (GB 11643-1999), a phone, flags, and a propensity to take
part that depends on the age band (the uneven participation the T-community study found)."""
import random
from dataclasses import dataclass
from datetime import date, timedelta

from shared.idnumber import check_digit
from shared.vocabulary import age_band

REGION = "500103"  # Chongqing, Yuzhong district
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "华明建国秀英桂兰玉珍志强丽娟文军红梅海燕淑芬德福永春晓静雨涵子轩浩然欣怡俊杰婷思琪家豪佳慧"
# household type, share of households, how its members' ages are drawn
HOUSEHOLDS = (
    ("single", 0.14, ("any_adult",)),
    ("couple", 0.18, ("adult", "adult")),
    ("elderly_only", 0.10, ("elder", "elder")),
    ("nuclear", 0.34, ("parent", "parent", "child", "child?")),
    ("extended", 0.16, ("elder", "elder", "parent", "parent", "child?")),
    ("single_parent", 0.08, ("parent", "child")),
)
AGES = {"any_adult": (20, 92), "adult": (22, 85), "elder": (60, 95), "parent": (28, 52),
        "child": (1, 17)}
# relative propensity to take part, by age band: the elderly come, young adults rarely do
PROPENSITY = {"0-17": 0.5, "18-34": 0.12, "35-59": 0.35, "60-69": 1.0, "70-79": 0.85,
              "80+": 0.3}


@dataclass
class Person:
    index: int            # position in the community's roster
    household: int        # index of the household in the community
    grid: str
    name: str
    gender: str
    born: date
    id_number: str
    phone: str | None
    flags: list
    age_band: str
    propensity: float


class Roster:
    """Unique ID numbers and phones across every community of a scenario."""

    def __init__(self):
        self.serials: dict[date, int] = {}
        self.phones = 0

    def id_number(self, born: date, gender: str) -> str:
        n = self.serials.get(born, 0)
        self.serials[born] = n + 1
        serial = 2 * n + (1 if gender == "male" else 2)  # odd for men, even for women
        first17 = f"{REGION}{born:%Y%m%d}{serial:03d}"
        return first17 + check_digit(first17)

    def phone(self) -> str:
        self.phones += 1
        return f"138{self.phones:08d}"


def _age(kind: str, rng: random.Random) -> int:
    if kind == "child?":
        kind = "child"
    low, high = AGES[kind]
    if kind == "elder" or (kind == "any_adult" and rng.random() < 0.6):
        # most people living alone are old; fewer live to each older decade
        return round(rng.triangular(60, high, 60))
    return rng.randint(low, high)


def households(count: int, grids: list[str], rng: random.Random):
    """(household type, grid, member age kinds) until `count` people are housed."""
    kinds, weights = [h[0] for h in HOUSEHOLDS], [h[1] for h in HOUSEHOLDS]
    members = {h[0]: h[2] for h in HOUSEHOLDS}
    housed = 0
    while housed < count:
        kind = rng.choices(kinds, weights)[0]
        ages = [a for a in members[kind] if a != "child?" or rng.random() < 0.3]
        ages = ages[:count - housed]
        housed += len(ages)
        yield kind, rng.choice(grids), ages


def community_people(count: int, grids: list[str], end: date, roster: Roster,
                     rng: random.Random) -> tuple[list[tuple[str, str]], list[Person]]:
    """The households (type, grid) and people of a community of `count` residents."""
    homes, people = [], []
    for h, (kind, grid, ages) in enumerate(households(count, grids, rng)):
        homes.append((kind, grid))
        for age_kind in ages:
            age = _age(age_kind, rng)
            born = end - timedelta(days=365 * age + rng.randint(30, 330))
            gender = rng.choice(("male", "female"))
            band = age_band(age)
            flags = []
            if kind == "single" and age >= 60:
                flags.append("living_alone")
            if rng.random() < 0.03 + (0.05 if age >= 70 else 0):
                flags.append("disability")
            if rng.random() < 0.04:
                flags.append("low_income")
            # a few activists carry a community (a long tail, not an even spread)
            zeal = rng.choices((0.3, 1.0, 4.0), (0.6, 0.3, 0.1))[0]
            phone = roster.phone() if age >= 16 and rng.random() < 0.93 else None
            people.append(Person(
                index=len(people), household=h, grid=grid,
                name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
                gender=gender, born=born, id_number=roster.id_number(born, gender),
                phone=phone, flags=flags, age_band=band,
                propensity=PROPENSITY[band] * zeal))
    return homes, people
