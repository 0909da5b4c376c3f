"""The review pharmacist's workbench pages (prescriptions.review_pages): who may open them,
what they show, and that the decision goes through the lifecycle verbs."""

import pytest
from django.urls import reverse

from cloudhospital.models import AccessLog, Role
from prescriptions import lifecycle
from prescriptions.models import PrescriptionStatus as S
from tests.factories import PharmacyStaffFactory, UserFactory

pytestmark = pytest.mark.django_db
REASON = "肾功能下降，患者血糖控制差，已告知风险"


@pytest.fixture
def signed(write, line):
    """Metformin 1000 mg bid for Zhang Lin (eGFR 48): a renal dose-cap warning, overridden."""
    return write(line("METF-T500", 1000, "bid"), sign=True, overrides={"renal_dose_cap:0": REASON})


@pytest.fixture
def pharmacist_client(client, review_pharmacist):
    client.force_login(review_pharmacist)
    return client


def test_home_sends_a_review_pharmacist_to_the_queue(pharmacist_client):
    assert pharmacist_client.get("/home/").url == reverse("review-queue") == "/review/"


def test_queue_lists_signed_prescriptions_oldest_first_and_the_poll_gets_the_list_alone(
        pharmacist_client, write, line, django_assert_max_num_queries):
    first = write(sign=True)
    second = write(line("AMLO-T5", 5, days=14), sign=True)
    write()  # a draft: not in the queue
    with django_assert_max_num_queries(12):
        page = pharmacist_client.get("/review/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.index(f'id="queue-row-{first.pk}"') < html.index(f'id="queue-row-{second.pk}"')
    assert html.count('id="queue-row-') == 2
    assert 'hx-trigger="every 10s' in html
    poll = pharmacist_client.get("/review/", HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and "<html" not in poll.content.decode()
    assert f'id="queue-row-{first.pk}"' in poll.content.decode()


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DOCTOR, Role.PHARMACY_STAFF, Role.HOSPITAL_ADMIN])
def test_the_workbench_is_refused_to_anyone_but_a_review_pharmacist(client, signed, role):
    client.force_login(UserFactory(role=role))
    for url in ("/review/", f"/review/{signed.pk}/"):
        assert client.get(url).status_code == 403
    assert client.post(f"/review/{signed.pk}/approve/").status_code == 403
    signed.refresh_from_db()
    assert signed.status == S.SIGNED


def test_a_pharmacy_pharmacist_may_not_review(client, signed):
    member = PharmacyStaffFactory().user  # role pharmacist, but a pharmacy's: dispenses, never reviews
    client.force_login(member)
    assert client.get("/review/").status_code == 403
    assert client.post(f"/review/{signed.pk}/approve/").status_code == 403
    assert client.post(f"/review/{signed.pk}/reject/", {"reject-reason": "x"}).status_code == 403
    signed.refresh_from_db()
    assert signed.status == S.SIGNED and signed.reviewed_by is None


def test_anonymous_is_sent_to_log_in(client, signed):
    response = client.get(f"/review/{signed.pk}/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_a_poll_after_the_session_ended_sends_the_browser_to_log_in(client, signed):
    response = client.get("/review/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/review/")
    assert response.status_code == 200 and response.content == b""
    assert response["HX-Redirect"] == "/login/?next=%2Freview%2F"
    response = client.post(f"/review/{signed.pk}/approve/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"].startswith("/login/?next=")
    signed.refresh_from_db()
    assert signed.status == S.SIGNED


def test_a_foreign_or_unknown_id_is_not_found(pharmacist_client, write, review_pharmacist):
    draft = write()  # never signed: not among what a review pharmacist may see
    other = UserFactory(role=Role.PHARMACIST)
    decided = write(sign=True)
    lifecycle.prescription_approve(by=other, prescription=decided)  # another pharmacist's decision
    for pk in (draft.pk, decided.pk, 999999):
        assert pharmacist_client.get(f"/review/{pk}/").status_code == 404
        assert pharmacist_client.post(f"/review/{pk}/approve/").status_code == 404


def test_detail_shows_facts_findings_override_reason_and_signature_and_logs_the_read(
        pharmacist_client, signed, review_pharmacist):
    before = AccessLog.objects.filter(user=review_pharmacist, patient=signed.patient).count()
    response = pharmacist_client.get(f"/review/{signed.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert signed.patient.full_name in html and "48 mL/min" in html
    assert 'data-finding="renal_dose_cap:0"' in html and REASON in html
    assert "Valid:" in html
    assert 'id="approve-form"' in html and 'id="reject-form"' in html
    logs = AccessLog.objects.filter(user=review_pharmacist, patient=signed.patient)
    assert logs.count() == before + 1
    assert logs.order_by("-seq").first().action == "prescription_review_page"


def test_reject_without_a_reason_is_refused_at_the_field_and_changes_nothing(pharmacist_client, signed):
    response = pharmacist_client.post(f"/review/{signed.pk}/reject/", {"reject-reason": "  "},
                                      HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_reject-reason-error"' in html and "Say why." in html and 'aria-invalid="true"' in html
    assert "<html" not in html  # the decision panel alone, for htmx to swap
    signed.refresh_from_db()
    assert signed.status == S.SIGNED
    # Without htmx: the whole page again, with what was typed and the message.
    page = pharmacist_client.post(f"/review/{signed.pk}/reject/", {"reject-reason": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400 and "Say why." in page.content.decode() and "<html" in page.content.decode()


def test_reject_with_a_reason_returns_it_to_the_doctor_and_the_queue_reloads(pharmacist_client, signed,
                                                                              review_pharmacist):
    response = pharmacist_client.post(f"/review/{signed.pk}/reject/", {"reject-reason": "剂量过大，请按肾功能减量"},
                                      HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Trigger"] == "review-queue-changed"
    signed.refresh_from_db()
    assert signed.status == S.REJECTED and signed.reviewed_by == review_pharmacist
    assert signed.review_reason == "剂量过大，请按肾功能减量"
    assert f'id="queue-row-{signed.pk}"' not in pharmacist_client.get("/review/").content.decode()


def test_after_a_decision_the_next_waiting_prescription_is_offered(pharmacist_client, signed, write):
    waiting = write(sign=True)
    response = pharmacist_client.post(f"/review/{signed.pk}/approve/", {"approve-reason": "ok"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'href="/review/{waiting.pk}/" id="next-prescription"' in response.content.decode()
    signed.refresh_from_db()
    assert signed.status == S.APPROVED and signed.review_reason == "ok"


def test_approve_without_htmx_redirects_back_and_a_second_decision_is_refused(pharmacist_client, signed):
    response = pharmacist_client.post(f"/review/{signed.pk}/approve/", {"approve-reason": ""})
    assert response.status_code == 302 and response.url == f"/review/{signed.pk}/"
    signed.refresh_from_db()
    assert signed.status == S.APPROVED
    again = pharmacist_client.post(f"/review/{signed.pk}/reject/", {"reject-reason": "late"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 409
    signed.refresh_from_db()
    assert signed.status == S.APPROVED


def test_a_revision_shows_what_changed_against_the_rejected_version(pharmacist_client, signed, review_pharmacist,
                                                                    room, line):
    lifecycle.prescription_reject(by=review_pharmacist, prescription=signed, reason="剂量过大")
    revised = lifecycle.prescription_revise(by=room.doctor_user, prescription=signed).prescription
    lifecycle.prescription_update(by=room.doctor_user, prescription=revised,
                                  items=[line("METF-T500", 500, "bid"), line("AMLO-T5", 5)])
    lifecycle.prescription_sign(by=room.doctor_user, prescription=revised)
    html = pharmacist_client.get(f"/review/{revised.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="changes"' in html and "剂量过大" in html
    assert html.count('data-change="changed"') == 1 and html.count('data-change="added"') == 1
    assert 'data-change="removed"' not in html
