"""Real-name identity rules: mainland resident ID numbers and mobile phone numbers.

The resident ID number (居民身份证号码) is defined by GB 11643-1999: six digits of
region, eight of birth date (YYYYMMDD), three of sequence (odd for men, even for
women) and one check character computed with ISO 7064 MOD 11-2.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
# ASCII digits only: `\d` and int() also take full-width (３) and Arabic-Indic (٣) digits,
# which would let one person register twice under two spellings of the same number.
ID_PATTERN = re.compile(r"^[0-9]{17}[0-9X]$")
EARLIEST_BIRTH = date(1880, 1, 1)

MOBILE_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")


def ascii_form(value: str) -> str:
    """NFKC-normalised text (full-width digits and letters become ASCII) without surrounding
    space. What is not ASCII after this (Arabic-Indic digits, say) stays as it is and fails
    the ASCII patterns, so every identifier has one spelling only."""
    return unicodedata.normalize("NFKC", value or "").strip()


class IdentityError(ValueError):
    """The value is not a valid identity number; the message says why."""


@dataclass(frozen=True)
class ResidentId:
    number: str
    region: str
    birth_date: date
    sex: str  # "male" or "female"


def id_check_char(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def parse_resident_id(value: str, *, today: date | None = None) -> ResidentId:
    """Validate an 18-character resident ID number and return what it encodes.

    Raises IdentityError naming the problem: length/characters, birth date, or check character.
    """
    number = ascii_form(value).upper()
    if not ID_PATTERN.match(number):
        raise IdentityError(_("A resident ID number has 17 digits followed by a digit or X."))
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdentityError(_("The birth date inside the ID number is not a real date.")) from None
    if birth < EARLIEST_BIRTH or birth > (today or date.today()):
        raise IdentityError(_("The birth date inside the ID number is out of range."))
    if id_check_char(number[:17]) != number[17]:
        raise IdentityError(_("The ID number's check character is wrong; please check for a typo."))
    sex = "male" if int(number[16]) % 2 == 1 else "female"
    return ResidentId(number=number, region=number[:6], birth_date=birth, sex=sex)


def make_resident_id(*, region: str, birth_date: date, sequence: int, sex: str) -> str:
    """Build a valid ID number (for demo data and tests): sequence 0-99 plus the sex digit."""
    sex_digit = (sequence % 5) * 2 + (1 if sex == "male" else 0)
    first17 = f"{region}{birth_date:%Y%m%d}{sequence % 100:02d}{sex_digit}"
    return first17 + id_check_char(first17)


def mask_id_number(number: str) -> str:
    """Only the first and the last character shown: 3****************X.

    The eight hidden digits after the region are the birth date, which responses show
    anyway, and the last four are sequence and check character; a mask that left region or
    sequence visible beside the birth date would give the whole number back. With one
    character at each end, region and sequence (eight digits) stay unknown.
    """
    if len(number) <= 2:
        return "*" * len(number)
    return number[0] + "*" * (len(number) - 2) + number[-1]


def normalise_mobile(value: str) -> str:
    """Return a mainland mobile number in E.164 form (+8613800138000).

    Accepts spaces, dashes and a +86 / 0086 / 86 prefix. Raises IdentityError otherwise.
    """
    digits = re.sub(r"[\s\-()]", "", ascii_form(value))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
            break
    if not MOBILE_PATTERN.match(digits):
        raise IdentityError(_("Enter a mainland mobile number: 11 digits starting with 13-19."))
    return "+86" + digits


def mask_mobile(phone: str) -> str:
    """+8613812345678 -> 138****5678."""
    national = phone[3:] if phone.startswith("+86") else phone
    if len(national) != 11:
        return "*" * len(national)
    return national[:3] + "****" + national[-4:]


def age_on(birth_date: date, on: date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
