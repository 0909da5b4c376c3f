"""Consent (issue 15, rule 4; consult.consent): the online-care informed consent before the
first online consult, re-accepted for a new version; proxy consents (granted, scoped, timed,
revoked) deciding whether a proxy may act; their FHIR Consent; the patient's activity saying
"by 张薇 on behalf of 张林"."""

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone
from fhir.resources.R4B.consent import Consent

from cloudhospital.errors import DomainError
from cloudhospital.identity import make_resident_id
from consult import booking as booking_rules
from consult import consent as rules
from consult import records
from consult.activity import patient_activity
from consult.fhir import proxy_consent_resource
from consult.models import ConsentAcceptance, ConsentText, ProxyConsent, ProxyConsentStatus, ProxyLink
from consult.permissions import patients_managed_by
from tests.factories import DependantFactory, PatientFactory, ProxyLinkFactory, SlotFactory

pytestmark = pytest.mark.django_db


def slot():
    start = timezone.now() + timedelta(days=1)
    return SlotFactory(starts_at=start, ends_at=start + timedelta(minutes=15))


def book(by, patient, at_slot=None):
    return booking_rules.booking_create(by=by, patient=patient, slot=at_slot or slot(), reason="复诊开药")[0]


def refused(code: str, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.message
    return caught.value


def new_version() -> ConsentText:
    current = rules.consent_current()
    return ConsentText.objects.create(kind=current.kind, version=current.version + 1, title_zh="互联网诊疗知情同意书",
                                      title_en="Informed consent to online care", text_zh="第二版", text_en="Version 2")


# --- The online-care informed consent ------------------------------------------------------


def test_the_seeded_version_1_says_what_online_care_can_and_cannot_do_in_both_languages():
    current = rules.consent_current()
    assert current.version == 1
    assert "复诊" in current.text_zh and "120" in current.text_zh and "录制" in current.text_zh
    assert "follow-up" in current.text_en and "emergency" in current.text_en and "recorded" in current.text_en


def test_booking_is_refused_until_the_patient_accepts_the_current_consent():
    patient = PatientFactory(consent=False)
    error = refused("consent_required", book, patient.account, patient)
    assert error.field == "consent" and "互联网诊疗监管细则" in error.message and error.kind == "unprocessable"
    acceptance, created = rules.consent_accept(by=patient.account, patient=patient, version=1)
    assert created and not acceptance.on_behalf and acceptance.accepted_by == patient.account
    assert book(patient.account, patient).patient == patient


def test_a_guardian_accepts_on_the_dependants_behalf_and_it_is_recorded_as_such():
    daughter = PatientFactory()
    father = DependantFactory(proxy=daughter.account, consent=False)
    refused("consent_required", book, daughter.account, father)
    acceptance, _ = rules.consent_accept(by=daughter.account, patient=father, version=1)
    assert acceptance.on_behalf and acceptance.proxy_relationship == "parent"
    assert book(daughter.account, father).booked_by == daughter.account


def test_a_new_version_needs_accepting_again_and_an_old_version_cannot_be_accepted():
    patient = PatientFactory()
    book(patient.account, patient)
    new_version()
    refused("consent_required", book, patient.account, patient)
    refused("consent_outdated", rules.consent_accept, by=patient.account, patient=patient, version=1)
    rules.consent_accept(by=patient.account, patient=patient, version=2)
    assert book(patient.account, patient)
    assert list(ConsentAcceptance.objects.filter(patient=patient).values_list("text__version", flat=True)) == [2, 1]


def test_a_stranger_cannot_accept_for_someone_elses_patient():
    patient = PatientFactory(consent=False)
    refused("not_found", rules.consent_accept, by=PatientFactory().account, patient=patient, version=1)
    assert not ConsentAcceptance.objects.filter(patient=patient).exists()


# --- Proxy consent -------------------------------------------------------------------------


def test_adding_a_dependant_or_a_proxy_records_who_granted_the_consent():
    daughter = PatientFactory()
    number = make_resident_id(region="330203", birth_date=date(1952, 3, 15), sequence=901, sex="male")
    father = records.dependant_add(proxy=daughter.account, full_name="张林", id_number=number, relationship="parent")
    consent = ProxyConsent.objects.get(link__patient=father)
    assert (consent.granted_by, consent.grantor_role, consent.in_force()) == (daughter.account, "guardian", True)
    mother = PatientFactory()
    son = PatientFactory()
    link = records.proxy_add(by=mother.account, patient=mother, phone=son.account.phone, relationship="parent")
    consent = link.consents.get()
    assert (consent.granted_by, consent.grantor_role) == (mother.account, "patient")
    assert sorted(consent.scope) == ["book", "medicines", "record"]


def test_after_revocation_the_proxy_can_no_longer_act():
    mother = PatientFactory()
    link = ProxyLinkFactory(patient=mother)
    assert mother in patients_managed_by(link.proxy)
    rules.proxy_consent_revoke(by=mother.account, consent=link.consents.get(), reason="自己预约")
    assert mother not in patients_managed_by(link.proxy)
    error = refused("proxy_consent_inactive", book, link.proxy, mother)
    assert error.kind == "forbidden" and "revoked" in error.message


def test_only_the_patient_with_a_login_revokes():
    mother = PatientFactory()
    link = ProxyLinkFactory(patient=mother)
    refused("forbidden", rules.proxy_consent_revoke, by=link.proxy, consent=link.consents.get())
    father = DependantFactory()
    refused("forbidden", rules.proxy_consent_revoke, by=father.proxy_links.get().proxy,
            consent=ProxyConsent.objects.get(link__patient=father))
    rules.proxy_consent_revoke(by=mother.account, consent=link.consents.get())
    refused("already_revoked", rules.proxy_consent_revoke, by=mother.account, consent=link.consents.get())


def test_an_expired_consent_is_refused():
    mother = PatientFactory()
    link = ProxyLinkFactory(patient=mother, consent=False)
    rules.proxy_consent_grant(by=mother.account, link=link, ends_at=timezone.now() + timedelta(days=30))
    assert book(link.proxy, mother)
    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        assert mother not in patients_managed_by(link.proxy)
        error = refused("proxy_consent_inactive", book, link.proxy, mother)
        assert "not in force" in error.message


def test_a_consent_without_the_booking_scope_does_not_let_the_proxy_book():
    mother = PatientFactory()
    link = ProxyLinkFactory(patient=mother, consent=False)
    rules.proxy_consent_grant(by=mother.account, link=link, scope=["record"])
    assert mother in patients_managed_by(link.proxy)  # may still read the record
    error = refused("proxy_consent_inactive", book, link.proxy, mother)
    assert "not for this" in error.message


def test_a_proxy_link_without_any_consent_gives_nothing():
    link = ProxyLinkFactory(consent=False)
    assert link.patient not in patients_managed_by(link.proxy)


def test_grant_refuses_a_stranger_a_bad_scope_and_a_period_that_ends_first():
    mother = PatientFactory()
    link = ProxyLinkFactory(patient=mother, consent=False)
    refused("forbidden", rules.proxy_consent_grant, by=link.proxy, link=link)
    refused("invalid_scope", rules.proxy_consent_grant, by=mother.account, link=link, scope=["drive"])
    refused("invalid_period", rules.proxy_consent_grant, by=mother.account, link=link,
            ends_at=timezone.now() - timedelta(days=1))
    assert not link.consents.exists()


# --- FHIR Consent --------------------------------------------------------------------------


def test_the_proxy_consent_is_a_valid_fhir_consent_naming_grantor_proxy_role_period_and_actions():
    mother = PatientFactory()
    link = ProxyLinkFactory(patient=mother, relationship="parent", consent=False)
    ends = timezone.now() + timedelta(days=90)
    consent = rules.proxy_consent_grant(by=mother.account, link=link, scope=["book", "record"], ends_at=ends)
    resource = proxy_consent_resource(consent)
    Consent.parse_obj(resource)  # validates against FHIR R4B
    assert resource["status"] == "active"
    assert resource["patient"]["reference"] == f"Patient/{mother.pk}"
    assert resource["performer"] == [{"reference": f"Patient/{mother.pk}", "display": mother.account.full_name}]
    provision = resource["provision"]
    assert provision["period"]["end"] == ends.isoformat()
    assert provision["actor"][0]["reference"]["reference"] == f"RelatedPerson/{link.pk}"
    assert provision["actor"][0]["role"]["coding"][0]["code"] == "CHILD"  # the proxy is the patient's child
    assert [a["coding"][0]["code"] for a in provision["action"]] == ["book", "record"]
    rules.proxy_consent_revoke(by=mother.account, consent=consent)
    consent.refresh_from_db()
    assert proxy_consent_resource(consent)["status"] == "inactive"


# --- By X on behalf of Y -------------------------------------------------------------------


def test_the_activity_says_which_proxy_acted_on_whose_behalf():
    daughter = PatientFactory(full_name="张薇")
    father = DependantFactory(proxy=daughter.account, full_name="张林")
    booking = book(daughter.account, father)
    booking_rules.booking_cancel(by=daughter.account, booking=booking)
    lines = [(a.event.what, a.line) for a in patient_activity(father)]
    assert ("booked", "by 张薇 on behalf of 张林 (Parent)") in lines
    assert ("cancelled by patient", "by 张薇 on behalf of 张林 (Parent)") in lines
    own = PatientFactory(full_name="李梅")
    book(own.account, own)
    assert [a.line for a in patient_activity(own) if a.event.what == "booked"] == ["by 李梅"]


# --- API ------------------------------------------------------------------------------------


def test_api_current_consent_and_accepting_it(client_for):
    patient = PatientFactory(consent=False)
    api = client_for(patient.account)
    current = api.get("/api/consents/current/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert current["version"] == 1 and current["title"] == "Informed consent to online care"
    response = api.post(f"/api/patients/{patient.pk}/consents/", {"version": 1}, format="json")
    assert response.status_code == 201 and response.json()["current"] is True
    assert api.post(f"/api/patients/{patient.pk}/consents/", {"version": 1}, format="json").status_code == 200
    assert api.get(f"/api/patients/{patient.pk}/consents/").json()["count"] == 1
    assert api.post(f"/api/patients/{patient.pk}/consents/", {"version": 0}, format="json").status_code == 409


def test_api_booking_without_consent_is_422_naming_the_consent(client_for):
    patient = PatientFactory(consent=False)
    response = client_for(patient.account).post("/api/bookings/", {"patient": patient.pk, "slot": slot().pk,
                                                                   "reason": "复诊"}, format="json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "consent_required"


def test_api_a_revoked_proxy_is_403_with_the_reason(client_for):
    mother = PatientFactory()
    link = ProxyLinkFactory(patient=mother)
    consent = link.consents.get()
    assert client_for(link.proxy).post(f"/api/patients/{mother.pk}/proxy-consents/{consent.pk}/revoke/").status_code == 403
    response = client_for(mother.account).post(f"/api/patients/{mother.pk}/proxy-consents/{consent.pk}/revoke/",
                                               {"reason": "不再需要"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    response = client_for(link.proxy).post("/api/bookings/", {"patient": mother.pk, "slot": slot().pk, "reason": "复诊"},
                                           format="json")
    assert response.status_code == 403 and response.json()["errors"][0]["code"] == "proxy_consent_inactive"
    assert client_for(link.proxy).get(f"/api/patients/{mother.pk}/record/").status_code == 404


def test_api_consents_and_activity_are_the_familys_only(client_for):
    daughter = PatientFactory(full_name="张薇")
    father = DependantFactory(proxy=daughter.account, full_name="张林")
    book(daughter.account, father)
    family = client_for(daughter.account)
    activity = family.get(f"/api/patients/{father.pk}/activity/").json()["results"]
    assert any(row["line"] == "by 张薇 on behalf of 张林 (Parent)" and row["on_behalf_of"] == "张林" for row in activity)
    # Always newest first: a query-string ordering is ignored, never a 500.
    assert family.get(f"/api/patients/{father.pk}/activity/?ordering=-id").json()["results"] == activity
    consents = family.get(f"/api/patients/{father.pk}/proxy-consents/").json()["results"]
    assert consents[0]["grantor_role"] == "guardian" and consents[0]["in_force"] is True
    fhir = family.get(f"/api/patients/{father.pk}/proxy-consents/{consents[0]['id']}/fhir/").json()
    assert fhir["resourceType"] == "Consent"
    stranger = client_for(PatientFactory().account)
    for url in (f"/api/patients/{father.pk}/activity/", f"/api/patients/{father.pk}/consents/",
                f"/api/patients/{father.pk}/proxy-consents/", f"/api/patients/{father.pk}/proxy-consents/{consents[0]['id']}/fhir/"):
        assert stranger.get(url).status_code == 404, url


def test_the_episode_bundle_carries_the_proxy_consents_for_the_family(client_for):
    daughter = PatientFactory()
    father = DependantFactory(proxy=daughter.account)
    bundle = client_for(daughter.account).get(f"/api/patients/{father.pk}/fhir/").json()
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds.count("Consent") == 1 and ProxyLink.objects.filter(patient=father).count() == 1


def test_status_of_a_replaced_consent():
    mother = PatientFactory()
    link = ProxyLinkFactory(patient=mother)
    first = link.consents.get()
    rules.proxy_consent_grant(by=mother.account, link=link, scope=["record"])
    first.refresh_from_db()
    assert first.status == ProxyConsentStatus.REVOKED and first.revoke_reason == "replaced"


def test_a_revoked_proxy_is_no_longer_notified():
    from cloudhospital.notifications import notification_recipients

    mother = PatientFactory()
    link = ProxyLinkFactory(patient=mother)
    assert link.proxy in notification_recipients(mother)
    rules.proxy_consent_revoke(by=mother.account, consent=link.consents.get())
    assert notification_recipients(mother) == [mother.account]
