"""Resident identity numbers (GB 11643-1999, shared/idnumber.py) and phone numbers as clerks
type them: normalised, then checked, with the reason in both languages."""
import re
from datetime import date

from shared.i18n import bilingual
from shared.idnumber import birth_date_of, check_digit

ID_PATTERN = re.compile(r"^\d{17}[\dX]$")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")

BAD_ID_FORMAT = bilingual("An ID number has 17 digits and a final digit or X",
                          "身份证号应为17位数字加一位数字或X")
BAD_ID_CHECK = bilingual("The ID number's check digit is wrong",
                         "身份证号校验位不正确")
BAD_ID_DATE = bilingual("The ID number holds no valid birth date",
                        "身份证号中的出生日期无效")
BAD_PHONE = bilingual("A phone number is an 11-digit mobile or a landline with area code",
                      "电话应为11位手机号或带区号的固定电话")


def normalise_id(raw: str) -> str:
    return raw.strip().upper().replace(" ", "")


def id_problem(number: str) -> str | None:
    """None if the (normalised) number is valid, else the reason."""
    if not ID_PATTERN.match(number):
        return BAD_ID_FORMAT
    if check_digit(number[:17]) != number[17]:
        return BAD_ID_CHECK
    try:
        born = birth_date_of(number)
    except ValueError:
        return BAD_ID_DATE
    if born > date.today() or born.year < 1880:
        return BAD_ID_DATE
    return None


def normalise_phone(raw: str) -> str:
    digits = re.sub(r"[\s()]", "", raw.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    return digits.replace("-", "") if MOBILE.match(digits.replace("-", "")) else digits


def phone_problem(phone: str) -> str | None:
    return None if MOBILE.match(phone) or LANDLINE.match(phone) else BAD_PHONE
