"""Signing: canonical JSON, sign/verify, tampering, key life, keys at rest and on the wire."""

import base64
import datetime
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured

from cloudhospital.errors import DomainError
from cloudhospital.models import Role
from prescriptions.models import SigningKey
from prescriptions.signing import (
    canonical_json,
    content_sign,
    content_verify,
    signing_key_current,
    signing_key_revoke,
    signing_key_rotate,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def content() -> dict:
    return {
        "prescription": 17,
        "patient": {"id": 4, "name": "张林 Zhang Lin", "id_number": "330203********0013"},
        "doctor": {"id": 9, "name": "陈晓敏 Chen Xiaomin"},
        "diagnosis": ["I10", "N18.3"],
        "issued_at": datetime.datetime(2026, 11, 23, 10, 30, tzinfo=SHANGHAI),
        "long_term": False,
        "items": [
            {"drug": "AMLO-T5", "dose": Decimal("5.00"), "unit": "mg", "frequency": "qd", "days": 30, "quantity": 30,
             "instructions": "每日早晨一次"},
            {"drug": "METF-T500", "dose": Decimal("500"), "unit": "mg", "frequency": "tid", "days": 30, "quantity": 90,
             "instructions": "随餐服用"},
        ],
    }


# --- Canonical JSON -------------------------------------------------------------------------
def test_canonical_json_sorts_keys_drops_whitespace_and_keeps_utf8():
    assert canonical_json({"b": 1, "a": [True, None], "名": "张林"}) == '{"a":[true,null],"b":1,"名":"张林"}'.encode()


def test_canonical_json_writes_decimals_as_plain_strings_and_datetimes_in_utc():
    out = canonical_json({"d": Decimal("5.00"), "e": Decimal("47.50"), "f": Decimal("1E+2"),
                          "t": datetime.datetime(2026, 11, 23, 10, 30, tzinfo=SHANGHAI), "day": datetime.date(2026, 1, 2)})
    assert json.loads(out) == {"d": "5", "e": "47.5", "f": "100", "t": "2026-11-23T02:30:00Z", "day": "2026-01-02"}


def test_canonical_json_is_the_same_for_equal_content_built_differently():
    a = content()
    b = json.loads(json.dumps(content(), default=str))  # different key order and types on the way
    b["items"][0]["dose"] = Decimal("5")
    b["items"][1]["dose"] = Decimal("500.0")
    b["issued_at"] = datetime.datetime(2026, 11, 23, 2, 30, tzinfo=datetime.timezone.utc)
    assert canonical_json(a) == canonical_json(b)


@pytest.mark.parametrize("bad", [1.5, datetime.datetime(2026, 1, 1, 8, 0), {1: "x"}, {"s": {1, 2}}, Decimal("NaN")])
def test_canonical_json_refuses_values_without_a_single_text(bad):
    with pytest.raises(TypeError):
        canonical_json({"v": bad})


# --- Sign and verify ------------------------------------------------------------------------
@pytest.fixture
def signed(doctor):
    key_id, signature = content_sign(signer=doctor, content=content())
    return key_id, signature


def test_signature_verifies_and_names_the_doctor(doctor, signed):
    key_id, signature = signed
    valid, reason = content_verify(content=content(), key_id=key_id, signature=signature, expected_signer=doctor)
    assert valid is True and "Chen Xiaomin" in reason


def test_signature_verifies_offline_with_only_the_published_public_key(client_for, doctor, signed):
    key_id, signature = signed
    published = client_for(UserFactory(role=Role.PHARMACIST)).get(f"/api/signing-keys/{key_id}/").json()
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(published["public_key"]))
    public.verify(base64.b64decode(signature), canonical_json(content()))


TAMPERINGS = [
    ("patient name", lambda c: c["patient"].__setitem__("name", "张林林")),
    ("doctor", lambda c: c["doctor"].__setitem__("id", 10)),
    ("diagnosis", lambda c: c["diagnosis"].append("E11")),
    ("issue time", lambda c: c.__setitem__("issued_at", c["issued_at"] + datetime.timedelta(seconds=1))),
    ("dose", lambda c: c["items"][0].__setitem__("dose", Decimal("10"))),
    ("quantity", lambda c: c["items"][1].__setitem__("quantity", 900)),
    ("frequency", lambda c: c["items"][1].__setitem__("frequency", "qid")),
    ("instructions", lambda c: c["items"][0].__setitem__("instructions", "每日两次")),
    ("drug", lambda c: c["items"][0].__setitem__("drug", "NIFE-CR30")),
    ("item removed", lambda c: c["items"].pop()),
    ("items reordered", lambda c: c["items"].reverse()),
    ("field added", lambda c: c.__setitem__("note", "")),
    ("long-term flag", lambda c: c.__setitem__("long_term", True)),
]


@pytest.mark.parametrize("what, tamper", TAMPERINGS, ids=[t[0] for t in TAMPERINGS])
def test_any_change_to_the_content_makes_verification_invalid(signed, what, tamper):
    key_id, signature = signed
    changed = content()
    tamper(changed)
    valid, reason = content_verify(content=changed, key_id=key_id, signature=signature)
    assert valid is False
    assert "does not match the content" in reason


def test_unknown_key_id_is_invalid(signed):
    _, signature = signed
    assert content_verify(content=content(), key_id="ed25519-000000000000000000000000", signature=signature) == (
        False, "Unknown signing key 'ed25519-000000000000000000000000'.",
    )


def test_revoked_key_makes_its_signatures_invalid(doctor, signed):
    key_id, signature = signed
    signing_key_revoke(key=SigningKey.objects.get(key_id=key_id), by=doctor, reason="phone lost")
    valid, reason = content_verify(content=content(), key_id=key_id, signature=signature)
    assert valid is False and "revoked" in reason and "phone lost" in reason


@pytest.mark.parametrize("signature", ["", "not base64!", base64.b64encode(b"short").decode(), "A" * 88])
def test_malformed_or_forged_signature_is_invalid(signed, signature):
    key_id, _ = signed
    valid, reason = content_verify(content=content(), key_id=key_id, signature=signature)
    assert valid is False


def test_key_of_another_doctor_is_invalid_for_the_expected_signer(doctor, signed):
    key_id, signature = signed
    other = UserFactory(role=Role.DOCTOR)
    valid, reason = content_verify(content=content(), key_id=key_id, signature=signature, expected_signer=other)
    assert valid is False and "another doctor" in reason


def test_signature_by_one_doctor_does_not_verify_under_another_doctors_key(doctor, signed):
    _, signature = signed
    other_key = signing_key_current(doctor=UserFactory(role=Role.DOCTOR))
    valid, _ = content_verify(content=content(), key_id=other_key.key_id, signature=signature)
    assert valid is False


# --- Key life -------------------------------------------------------------------------------
def test_key_is_created_on_first_use_and_reused(doctor):
    assert not SigningKey.objects.filter(doctor=doctor).exists()
    first, _ = content_sign(signer=doctor, content={"a": 1})
    second, _ = content_sign(signer=doctor, content={"a": 2})
    assert first == second and SigningKey.objects.filter(doctor=doctor).count() == 1
    key = SigningKey.objects.get()
    assert key.history.first().history_user == doctor


def test_only_an_active_doctor_can_sign(db):
    for user in (UserFactory(role=Role.PHARMACIST), UserFactory(role=Role.PATIENT), UserFactory(role=Role.DOCTOR, is_active=False)):
        with pytest.raises(DomainError) as error:
            content_sign(signer=user, content={"a": 1})
        assert error.value.code == "not_a_doctor"
    assert not SigningKey.objects.exists()


def test_rotation_retires_the_old_key_which_still_verifies(doctor, signed):
    old_id, signature = signed
    new = signing_key_rotate(doctor=doctor, by=doctor, reason="yearly rotation")
    assert new.key_id != old_id and new.is_current
    assert SigningKey.objects.get(key_id=old_id).retired_at is not None
    assert content_verify(content=content(), key_id=old_id, signature=signature)[0] is True
    assert content_sign(signer=doctor, content={"a": 1})[0] == new.key_id


def test_revoking_twice_or_without_a_reason_is_refused(doctor, signed):
    key = SigningKey.objects.get(key_id=signed[0])
    with pytest.raises(DomainError) as error:
        signing_key_revoke(key=key, by=doctor, reason="  ")
    assert error.value.field == "reason"
    signing_key_revoke(key=key, by=doctor, reason="compromised")
    with pytest.raises(DomainError) as error:
        signing_key_revoke(key=key, by=doctor, reason="again")
    assert error.value.kind == "conflict"


def test_a_doctor_with_a_revoked_key_gets_a_fresh_one_on_next_signature(doctor, signed):
    signing_key_revoke(key=SigningKey.objects.get(key_id=signed[0]), by=doctor, reason="compromised")
    key_id, signature = content_sign(signer=doctor, content=content())
    assert key_id != signed[0]
    assert content_verify(content=content(), key_id=key_id, signature=signature)[0] is True


def test_private_key_is_stored_encrypted_not_raw(doctor, signed):
    key = SigningKey.objects.get(key_id=signed[0])
    stored = bytes(key.private_key_encrypted)
    assert len(stored) > 32 and stored.startswith(b"gAAAAA")  # a Fernet token, not 32 raw bytes


def test_keys_stay_usable_after_the_encryption_secret_is_rotated(settings, doctor, signed):
    settings.PRESCRIPTION_SIGNING_SECRETS = ["new-secret-2027", *settings.PRESCRIPTION_SIGNING_SECRETS]
    key_id, signature = content_sign(signer=doctor, content=content())
    assert key_id == signed[0] and signature == signed[1]  # Ed25519 is deterministic


def test_keys_do_not_decrypt_under_a_different_secret(settings, doctor, signed):
    from cryptography.fernet import InvalidToken

    settings.PRESCRIPTION_SIGNING_SECRETS = ["an-unrelated-secret"]
    with pytest.raises(InvalidToken):
        content_sign(signer=doctor, content=content())


def test_signing_refuses_to_run_without_a_configured_secret(settings, doctor):
    settings.PRESCRIPTION_SIGNING_SECRETS = []
    with pytest.raises(ImproperlyConfigured):
        content_sign(signer=doctor, content=content())


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_signatures_make_one_key(doctor):
    import threading

    from django.db import connection, connections

    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers at BEGIN IMMEDIATE; the race needs PostgreSQL row locks.")
    barrier = threading.Barrier(4)
    results, errors = [], []

    def sign():
        try:
            barrier.wait()
            results.append(content_sign(signer=doctor, content={"n": 1})[0])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(set(results)) == 1
    assert SigningKey.objects.filter(doctor=doctor).count() == 1
