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
from tests.api_errors import error_code

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
    assert mask_id_number("11010519491231002X") == "1****************X"


@pytest.mark.parametrize("raw", ["13812345678", "+86 138-1234-5678", "0086 13812345678", "86 138 1234 5678"])
def test_normalise_mobile_accepts_common_spellings(raw):
    assert normalise_mobile(raw) == "+8613812345678"


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "+1 4155550100", "phone"])
def test_normalise_mobile_refuses_non_mainland_numbers(raw):
    with pytest.raises(IdentityError):
        normalise_mobile(raw)


def test_mask_mobile():
    assert mask_mobile("+8613812345678") == "138****5678"


@pytest.mark.parametrize("spelling", ["330２0319390909453X", "３３０２０３１９３９０９０９４５３ｘ"])
def test_a_full_width_id_number_is_the_same_number(spelling):
    assert parse_resident_id(spelling).number == "33020319390909453X"


@pytest.mark.parametrize("spelling", ["330٢0319390909453X", "330۲0319390909453X", "３３0२0319390909453X"])
def test_non_ascii_digits_that_normalisation_keeps_are_refused(spelling):
    with pytest.raises(IdentityError):
        parse_resident_id(spelling)


@pytest.mark.parametrize("spelling", ["13３74962473", "１３３７４９６２４７３"])
def test_a_full_width_phone_is_the_same_phone(spelling):
    assert normalise_mobile(spelling) == "+8613374962473"


def test_arabic_indic_digits_in_a_phone_are_refused():
    with pytest.raises(IdentityError):
        normalise_mobile("13٣74962473")


@pytest.mark.django_db
def test_registering_the_same_person_with_a_full_width_digit_is_a_duplicate(client):
    body = {"full_name": "张三", "id_number": "33020319390909453X", "phone": "13374962473", "password": "Yunyiyuan-2026-x"}
    assert client.post("/api/auth/register/", body, content_type="application/json").status_code == 201
    twin = {**body, "id_number": "330２0319390909453X", "phone": "13374962474"}
    response = client.post("/api/auth/register/", twin, content_type="application/json")
    assert response.status_code == 400 and error_code(response) == "duplicate_id_number"
    other_person = make_resident_id(region="330203", birth_date=date(1950, 1, 1), sequence=12, sex="male")
    same_phone = {**body, "id_number": other_person, "phone": "13３74962473"}
    assert error_code(client.post("/api/auth/register/", same_phone, content_type="application/json")) == "duplicate_phone"


@pytest.mark.django_db
def test_the_migration_respells_stored_numbers_and_reports_the_same_person_twice(capsys):
    from importlib import import_module

    from django.apps import apps

    from tests.factories import PatientFactory

    kept = PatientFactory(id_number="33020319390909453X")
    twin = PatientFactory(id_number="330２0319390909453X")
    lone = PatientFactory(id_number="１１０１０１１９９０１０１０１２３４")
    migration = import_module("consult.migrations.0005_identity_one_spelling")
    duplicates = migration.normalise(apps.get_model("consult", "Patient"), "id_number", label="patients")
    assert duplicates == [(kept.pk, twin.pk)]
    lone.refresh_from_db()
    assert lone.id_number == "110101199010101234"
    assert "the same person twice" in capsys.readouterr().out
