from datetime import date

import pytest
from hypothesis import given, settings as hsettings
from hypothesis import strategies as st

from cloudhospital.identity import (
    IdentityError,
    make_resident_id,
    mask_id_number,
    mask_mobile,
    normalise_mobile,
    parse_resident_id,
)

births = st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31))
regions = st.sampled_from(["330203", "330205", "330212", "110101", "440305"])
sexes = st.sampled_from(["male", "female"])


@given(region=regions, birth=births, sequence=st.integers(0, 99), sex=sexes)
def test_valid_id_numbers_round_trip(region, birth, sequence, sex):
    number = make_resident_id(region=region, birth_date=birth, sequence=sequence, sex=sex)
    parsed = parse_resident_id(number)
    assert (parsed.number, parsed.region, parsed.birth_date, parsed.sex) == (number, region, birth, sex)


@hsettings(max_examples=300)
@given(
    birth=births,
    sequence=st.integers(0, 99),
    position=st.integers(0, 17),
    replacement=st.sampled_from("0123456789X"),
)
def test_any_single_character_change_is_rejected(birth, sequence, position, replacement):
    number = make_resident_id(region="330203", birth_date=birth, sequence=sequence, sex="male")
    if number[position] == replacement:
        return
    changed = number[:position] + replacement + number[position + 1:]
    with pytest.raises(IdentityError):
        parse_resident_id(changed)


def test_known_check_digit_example():
    # The published GB 11643-1999 worked example.
    assert parse_resident_id("11010519491231002X").birth_date == date(1949, 12, 31)
    assert parse_resident_id("11010519491231002x").sex == "female"


@pytest.mark.parametrize(
    "value, message",
    [
        ("1101051949123100", "17 digits"),
        ("11010519491331002X", "not a real date"),
        ("110105294912310023", "out of range"),
        ("110105194912310021", "check character"),
    ],
)
def test_parse_resident_id_says_what_is_wrong(value, message):
    with pytest.raises(IdentityError, match=message):
        parse_resident_id(value)


def test_mask_shows_first_six_and_last_four():
    assert mask_id_number("11010519491231002X") == "110105********002X"


@pytest.mark.parametrize("raw", ["13812345678", "+86 138-1234-5678", "0086 13812345678", "86 138 1234 5678"])
def test_normalise_mobile_accepts_common_spellings(raw):
    assert normalise_mobile(raw) == "+8613812345678"


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "+1 4155550100", "phone"])
def test_normalise_mobile_refuses_non_mainland_numbers(raw):
    with pytest.raises(IdentityError):
        normalise_mobile(raw)


def test_mask_mobile():
    assert mask_mobile("+8613812345678") == "138****5678"
