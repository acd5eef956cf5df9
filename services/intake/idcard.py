"""Resident identity numbers (GB 11643-1999, shared/idnumber.py) and phone numbers as clerks
type them: normalised, then checked, with the reason in both languages.

Normalising comes first, and the keyed hashes are made from its result: NFKC turns
fullwidth digits and letters (a Chinese input method's １２３, Ｘ) into ASCII, and spaces and
dashes of any width are dropped, so one number typed two ways is one person."""
import re
import unicodedata

from shared import clock
from shared.i18n import bilingual
from shared.idnumber import birth_date_of, check_digit

ID_PATTERN = re.compile(r"^[0-9]{17}[0-9X]$")  # ASCII digits only (\d takes any script's)
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
LANDLINE = re.compile(r"^0[0-9]{2,3}[0-9]{7,8}$")  # area code and number, as normalised
SEPARATORS = re.compile(r"[\s()\-\u2010-\u2015\u2212\u30fc\ufe58\ufe63]")

BAD_ID_FORMAT = bilingual("An ID number has 17 digits and a final digit or X",
                          "身份证号应为17位数字加一位数字或X")
BAD_ID_CHECK = bilingual("The ID number's check digit is wrong",
                         "身份证号校验位不正确")
BAD_ID_DATE = bilingual("The ID number holds no valid birth date",
                        "身份证号中的出生日期无效")
BAD_PHONE = bilingual("A phone number is an 11-digit mobile or a landline with area code",
                      "电话应为11位手机号或带区号的固定电话")


def _plain(raw: str) -> str:
    """NFKC (fullwidth to ASCII), without spaces, brackets or dashes."""
    return SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))


def normalise_id(raw: str) -> str:
    return _plain(raw).upper()


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
    if born > clock.today() or born.year < 1880:
        return BAD_ID_DATE
    return None


def normalise_phone(raw: str) -> str:
    digits = _plain(raw)
    for country in ("+86", "0086"):
        if digits.startswith(country) and len(digits) > 11:
            return digits[len(country):]
    return digits


def phone_problem(phone: str) -> str | None:
    return None if MOBILE.match(phone) or LANDLINE.match(phone) else BAD_PHONE
