"""The family's consent pages (consult.consent_pages): the informed consent met before the
first booking, accepted and then on to the booking form; the patient revoking a proxy; the
activity list naming who acted on whose behalf; other families' ids are 404."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consult import booking as booking_rules
from consult.acting import SESSION_KEY
from consult.models import ConsentAcceptance, ProxyConsentStatus
from tests.factories import DependantFactory, PatientFactory, ProxyLinkFactory, SlotFactory

pytestmark = pytest.mark.django_db


def slot():
    start = timezone.now() + timedelta(days=1)
    return SlotFactory(starts_at=start, ends_at=start + timedelta(minutes=15))


def acting(client, user, patient):
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = patient.pk
    session.save()
    return client


def test_booking_without_consent_shows_the_consent_then_books(client):
    daughter = PatientFactory()
    father = DependantFactory(proxy=daughter.account, consent=False)
    visit = slot()
    acting(client, daughter.account, father)
    response = client.get(f"/care/slots/{visit.pk}/book/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 302 and response.url == f"/care/slots/{visit.pk}/consent/"
    page = client.get(response.url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "互联网诊疗知情同意书" in page and "120" in page
    refused = client.post(f"/care/slots/{visit.pk}/consent/", {"patient": father.pk, "version": 1})
    assert refused.status_code == 400 and not ConsentAcceptance.objects.filter(patient=father).exists()
    accepted = client.post(f"/care/slots/{visit.pk}/consent/", {"patient": father.pk, "version": 1, "agree": "on"})
    assert accepted.status_code == 302 and accepted.url == f"/care/slots/{visit.pk}/book/"
    acceptance = ConsentAcceptance.objects.get(patient=father)
    assert acceptance.accepted_by == daughter.account and acceptance.on_behalf
    assert client.get(accepted.url).status_code == 200  # the booking form now


def test_the_patient_revokes_a_proxy_on_the_page_and_the_proxy_cannot_open_it(client):
    mother = PatientFactory()
    link = ProxyLinkFactory(patient=mother)
    consent = link.consents.get()
    client.force_login(link.proxy)
    assert client.post(f"/patient/{mother.pk}/consents/{consent.pk}/revoke/").status_code == 403
    client.force_login(mother.account)
    page = client.get(f"/patient/{mother.pk}/consents/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert link.proxy.full_name in page and "Revoke" in page
    response = client.post(f"/patient/{mother.pk}/consents/{consent.pk}/revoke/", {"reason": "自己来"})
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.status == ProxyConsentStatus.REVOKED
    client.force_login(link.proxy)
    assert client.get(f"/patient/{mother.pk}/consents/").status_code == 404


def test_the_activity_page_says_by_whom_on_whose_behalf(client):
    daughter = PatientFactory(full_name="张薇")
    father = DependantFactory(proxy=daughter.account, full_name="张林")
    booking_rules.booking_create(by=daughter.account, patient=father, slot=slot(), reason="复诊")
    client.force_login(daughter.account)
    page = client.get(f"/patient/{father.pk}/activity/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "by 张薇 on behalf of 张林" in page
    client.force_login(PatientFactory().account)
    assert client.get(f"/patient/{father.pk}/activity/").status_code == 404


def test_the_admin_activity_view_names_the_proxy_and_is_access_logged(client):
    from cloudhospital.models import AccessLog
    from tests.factories import UserFactory

    daughter = PatientFactory(full_name="张薇")
    father = DependantFactory(proxy=daughter.account, full_name="张林")
    booking_rules.booking_create(by=daughter.account, patient=father, slot=slot(), reason="复诊")
    client.force_login(UserFactory(is_staff=True, is_superuser=True, role="hospital_admin"))
    page = client.get(f"/admin/consult/proxyconsent/activity/{father.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "by 张薇 on behalf of 张林" in page
    assert AccessLog.objects.filter(patient=father, action="admin_activity_read").count() == 1
