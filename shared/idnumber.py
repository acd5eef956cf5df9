"""China's resident identity numbers (GB 11643-1999): 6 digits of region, 8 of birth date, a
3-digit serial (odd for men, even for women) and a check character. The standard's
arithmetic, which intake validates by and the scenario generates rosters with."""
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_digit(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def birth_date_of(number: str) -> date:
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def gender_of(number: str) -> str:
    return "male" if int(number[16]) % 2 else "female"
