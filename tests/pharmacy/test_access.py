import pytest
from django.urls import reverse

from cloudhospital.permissions import SYSTEM
from cloudhospital.errors import DomainError
from pharmacy.access import pharmacy_for, staff_add, token_authenticate, token_create, token_hash, token_revoke
from pharmacy.models import PharmacyApiToken
from tests.factories import PharmacyFactory, PharmacyStaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_token_create_stores_only_a_hash_and_the_plaintext_authenticates():
    pharmacy = PharmacyFactory()
    token, plaintext = token_create(pharmacy=pharmacy, name="POS", by=SYSTEM)
    stored = PharmacyApiToken.objects.get(pk=token.pk)
    assert plaintext.startswith("chp_") and len(plaintext) > 40
    assert stored.token_hash == token_hash(plaintext) and plaintext not in stored.token_hash
    assert plaintext.startswith(stored.prefix) and len(stored.prefix) == 12
    assert token_authenticate(plaintext).pharmacy == pharmacy
    assert token_authenticate(plaintext + "x") is None


def test_revoked_token_no_longer_authenticates():
    token, plaintext = token_create(pharmacy=PharmacyFactory(), name="POS", by=SYSTEM)
    token_revoke(token=token, by=SYSTEM)
    assert token_authenticate(plaintext) is None


def test_token_of_an_inactive_pharmacy_no_longer_authenticates():
    pharmacy = PharmacyFactory()
    _, plaintext = token_create(pharmacy=pharmacy, name="POS", by=SYSTEM)
    pharmacy.active = False
    pharmacy.save()
    assert token_authenticate(plaintext) is None


def test_token_authenticate_marks_last_use():
    token, plaintext = token_create(pharmacy=PharmacyFactory(), name="POS", by=SYSTEM)
    token_authenticate(plaintext)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_staff_add_refuses_a_patient_login():
    with pytest.raises(DomainError) as error:
        staff_add(pharmacy=PharmacyFactory(), user=UserFactory(role="patient"), by=SYSTEM)
    assert error.value.code == "not_pharmacy_role" and error.value.kind == "unprocessable"


def test_staff_add_refuses_a_member_of_another_pharmacy():
    membership = PharmacyStaffFactory()
    with pytest.raises(DomainError) as error:
        staff_add(pharmacy=PharmacyFactory(), user=membership.user, by=SYSTEM)
    assert error.value.code == "already_member"


def test_pharmacy_for_a_staff_login_is_their_own_pharmacy():
    membership = PharmacyStaffFactory()
    assert pharmacy_for(user=membership.user, auth=None) == membership.pharmacy
    assert pharmacy_for(user=UserFactory(role="pharmacist"), auth=None) is None
    assert pharmacy_for(user=UserFactory(role="patient"), auth=None) is None


def test_admin_issues_a_token_shown_once_and_revokes_it(client):
    admin = UserFactory(role="hospital_admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    pharmacy = PharmacyFactory()
    response = client.post(
        reverse("admin:pharmacy_pharmacy_changelist"),
        {"action": "issue_api_token", "_selected_action": [pharmacy.pk]},
        follow=True,
    )
    token = PharmacyApiToken.objects.get(pharmacy=pharmacy)
    page = response.content.decode()
    plaintext = page.split("<code>", 1)[1].split("</code>", 1)[0]
    assert token_hash(plaintext) == token.token_hash and token.created_by == admin
    assert plaintext not in client.get(reverse("admin:pharmacy_pharmacyapitoken_change", args=[token.pk])).content.decode()
    client.post(
        reverse("admin:pharmacy_pharmacyapitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == admin
    assert token_authenticate(plaintext) is None


@pytest.mark.parametrize(
    "name", ["pharmacy_pharmacy", "pharmacy_stock", "pharmacy_pharmacystaff", "pharmacy_pharmacyapitoken"]
)
def test_admin_lists_render(client, name):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    PharmacyStaffFactory()
    assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200
