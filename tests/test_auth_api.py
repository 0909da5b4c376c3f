import pytest
from django.contrib.auth.hashers import identify_hasher

from cloudhospital.identity import make_resident_id
from cloudhospital.models import User
from consult.models import Patient
from tests.factories import PASSWORD, PatientFactory
from tests.api_errors import error_attrs, error_code, error_detail

pytestmark = pytest.mark.django_db

VALID_ID = make_resident_id(region="330203", birth_date=__import__("datetime").date(1968, 9, 12), sequence=7, sex="female")


def register(api, **overrides):
    body = {"full_name": "张薇", "id_number": VALID_ID, "phone": "138-0000-1111", "password": "a-Long-passphrase-9"}
    body.update(overrides)
    return api.post("/api/auth/register/", body, format="json")


def test_register_creates_account_and_patient_with_derived_fields(api, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    response = register(api)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["token"]
    assert body["patient"]["id_number"] == VALID_ID[0] + "*" * 16 + VALID_ID[-1]
    assert body["patient"]["birth_date"] == "1968-09-12"
    assert body["patient"]["sex"] == "female"
    assert body["patient"]["relationship"] == "self"
    user = User.objects.get()
    assert user.phone == "+8613800001111"
    assert identify_hasher(user.password).algorithm == "argon2"
    assert Patient.objects.get().account == user


def test_full_id_number_never_appears_in_any_response(api):
    response = register(api)
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    for url in ["/api/auth/me/", "/api/patients/", f"/api/patients/{response.json()['patient']['id']}/record/"]:
        assert VALID_ID not in api.get(url).content.decode()
    assert VALID_ID not in response.content.decode()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"id_number": VALID_ID[:-1] + ("0" if VALID_ID[-1] != "0" else "1")}, "id_number"),
        ({"phone": "12345"}, "phone"),
        ({"password": "123"}, "password"),
        ({"full_name": ""}, "full_name"),
        ({"nickname": "x"}, "nickname"),
        ({"full_name": "x" * 65}, "full_name"),
    ],
)
def test_register_refuses_bad_input_naming_the_field(api, overrides, field):
    response = register(api, **overrides)
    assert response.status_code == 400
    assert field in error_attrs(response)
    assert not User.objects.exists()


def test_register_refuses_duplicate_id_number_and_phone(api):
    assert register(api).status_code == 201
    dup_id = register(api, phone="13800002222")
    assert dup_id.status_code == 400 and "id_number" in error_attrs(dup_id)
    other_id = make_resident_id(region="330203", birth_date=__import__("datetime").date(1970, 1, 1), sequence=1, sex="male")
    dup_phone = register(api, id_number=other_id, phone="+86 13800001111")
    assert dup_phone.status_code == 400 and "phone" in error_attrs(dup_phone)
    assert User.objects.count() == 1


def test_register_refuses_malformed_json(api):
    response = api.post("/api/auth/register/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in error_detail(response)


def test_login_returns_token_and_me_describes_the_user(api, family):
    daughter, father = family
    response = api.post("/api/auth/login/", {"phone": daughter.account.phone[3:], "password": PASSWORD}, format="json")
    assert response.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    me = api.get("/api/auth/me/").json()
    assert me["role"] == "patient"
    assert me["patient_id"] == daughter.pk
    assert {(m["id"], m["relationship"]) for m in me["manages"]} == {(daughter.pk, "self"), (father.pk, "parent")}


def test_logout_revokes_the_token(api):
    patient = PatientFactory()
    token = api.post("/api/auth/login/", {"phone": patient.account.phone, "password": PASSWORD}, format="json").json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.post("/api/auth/logout/").status_code == 204
    assert api.get("/api/auth/me/").status_code == 401


def test_wrong_password_is_400_then_429_after_repeated_failures(api, settings):
    patient = PatientFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = api.post("/api/auth/login/", {"phone": patient.account.phone, "password": "wrong"}, format="json")
        assert response.status_code == 400
    locked = api.post("/api/auth/login/", {"phone": patient.account.phone, "password": "wrong"}, format="json")
    assert locked.status_code == 429 and error_code(locked) == "locked_out"
    assert "15 minutes" in error_detail(locked)
    # Even the right password is refused while locked out.
    right = api.post("/api/auth/login/", {"phone": patient.account.phone, "password": PASSWORD}, format="json")
    assert right.status_code == 429


def test_me_requires_authentication(api):
    assert api.get("/api/auth/me/").status_code == 401


@pytest.mark.parametrize("cookie", ["abc\x00defghijklmnop", "x" * 5000, "ÄÖÜ-not-a-session-key-ÄÖÜ"])
def test_a_malformed_session_cookie_is_no_session_not_a_500(client, cookie):
    client.cookies["sessionid"] = cookie
    assert client.get("/api/auth/me/").status_code == 401
    assert client.get("/").status_code == 200
