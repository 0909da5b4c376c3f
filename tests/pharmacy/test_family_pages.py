"""The family's visit summary, get-the-medicine, order and message pages (pharmacy.family_pages),
through the Django client: what each page shows, and every refusal in plain words with a 4xx.
Pages are read in English here (the daughter's saved language) to assert on the words."""

import re

import pytest
from django.urls import reverse

from cloudhospital.models import Notification
from cloudhospital.notifications import notification_send
from pharmacy import orders
from pharmacy.models import Order, OrderStatus
from prescriptions.models import PrescriptionStatus
from tests.factories import (
    ApprovedPrescriptionFactory,
    DependantFactory,
    PatientFactory,
    PharmacyStaffFactory,
)
from tests.pharmacy.conftest import HOME, north_of_home

pytestmark = pytest.mark.django_db


@pytest.fixture
def daughter(family):
    daughter, _ = family
    daughter.account.language = "en"
    daughter.account.save(update_fields=["language"])
    return daughter.account


@pytest.fixture
def web(client, daughter):
    client.force_login(daughter)
    return client


@pytest.fixture
def near(stocked):
    """A delivering pharmacy 1 km north of home with everything, and one 0.5 km away lacking valsartan."""
    lat, lng = north_of_home(1)
    full = stocked(name="Full Pharmacy", latitude=lat, longitude=lng, delivering=True)
    lat, lng = north_of_home(0.5)
    short = stocked(name="Short Pharmacy", latitude=lat, longitude=lng, val=0)
    return full, short


def order_url(rx):
    return reverse("family-medicine-order", args=[rx.pk])


def test_visit_summary_shows_diagnosis_advice_and_the_prescription_status(web, rx):
    consultation = rx.consultation
    consultation.diagnosis = [{"code": "I10", "name": "原发性高血压"}]
    consultation.follow_up_advice = "Low-salt diet; measure the blood pressure every morning."
    consultation.save()
    response = web.get(reverse("family-visit", args=[consultation.booking_id]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Essential (primary) hypertension" in page  # the ICD-10 name in the active language
    assert "Low-salt diet" in page
    assert "Approved by the pharmacist" in page
    assert reverse("prescription-print", args=[rx.pk]) in page
    assert reverse("family-medicine-order", args=[rx.pk]) in page
    assert 'id="acting-for"' in page and "张林 Zhang Lin" in page


def test_visit_summary_shows_the_follow_up_interval_and_a_referral(web, rx):
    consultation = rx.consultation
    consultation.follow_up_interval_days = 28
    consultation.outcome = "referred_offline"
    consultation.referral_reason = "Needs a kidney ultrasound in person."
    consultation.save()
    page = web.get(reverse("family-visit", args=[consultation.booking_id])).content.decode()
    assert "Follow-up visit in 28 days." in page
    assert 'id="referral"' in page and "Needs a kidney ultrasound in person." in page


def test_visit_summary_hides_the_clinical_fields_until_the_consultation_ends(web, rx):
    consultation = rx.consultation
    consultation.status = "in_progress"
    consultation.follow_up_advice = "Not yet final"
    consultation.save()
    page = web.get(reverse("family-visit", args=[consultation.booking_id])).content.decode()
    assert 'id="visit-pending"' in page and "Not yet final" not in page and f'data-rx="{rx.pk}"' not in page


def test_visit_summary_shows_a_signed_prescription_as_awaiting_review_and_hides_drafts(web, rx, drugs):
    father = rx.patient
    signed = ApprovedPrescriptionFactory(patient=father, consultation=rx.consultation, status=PrescriptionStatus.SIGNED,
                                         items=[(drugs[2], 10)])
    page = web.get(reverse("family-visit", args=[rx.consultation.booking_id])).content.decode()
    assert f'data-rx="{signed.pk}"' in page and "Waiting for the pharmacist&#x27;s review" in page


def test_another_familys_visit_prescription_and_order_are_404(web, stranger, drugs, stocked):
    theirs = ApprovedPrescriptionFactory(patient=stranger, items=[(drugs[0], 14), (drugs[1], 28)])
    pharmacy = stocked()
    order = orders.order_place(by=stranger.account, prescription=theirs, kind="pickup", pharmacy=pharmacy)
    assert web.get(reverse("family-visit", args=[theirs.consultation.booking_id])).status_code == 404
    assert web.get(order_url(theirs)).status_code == 404
    assert web.post(order_url(theirs), {"kind": "pickup", "pharmacy": pharmacy.pk}).status_code == 404
    assert web.get(reverse("family-order", args=[order.pk])).status_code == 404
    assert web.post(reverse("family-order-cancel", args=[order.pk])).status_code == 404
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED


def test_medicines_lists_the_acted_for_patients_prescriptions(web, rx):
    page = web.get(reverse("family-medicines")).content.decode()
    assert f'data-rx="{rx.pk}"' not in page  # acting for herself: her father's are not listed
    web.post(reverse("patient-act-for"), {"patient": rx.patient.pk, "next": reverse("family-medicines")})
    page = web.get(reverse("family-medicines")).content.decode()
    assert f'data-rx="{rx.pk}"' in page
    assert order_url(rx) in page


def test_order_page_offers_the_nearest_pharmacies_with_every_item_and_the_promised_date(web, rx, near):
    full, short = near
    response = web.get(order_url(rx), {"lat": HOME[0], "lng": HOME[1]})
    page = response.content.decode()
    assert response.status_code == 200
    assert f'data-pharmacy="{full.pk}"' in page and f'data-pharmacy="{short.pk}"' not in page
    assert "1.0 km away" in page
    assert 'id="promised-date"' in page
    # The same choices as an htmx fragment for the location form.
    fragment = web.get(order_url(rx), {"lat": HOME[0], "lng": HOME[1]}, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div id="options">') and f'data-pharmacy="{full.pk}"' in fragment


def test_home_delivery_places_the_order_with_the_domains_promised_date(web, rx, near, daughter):
    full, _ = near
    response = web.post(order_url(rx), {"kind": "delivery", "address": "海曙区公园路 18 弄", "contact_name": "张林",
                                        "contact_phone": "13800000001", "lat": HOME[0], "lng": HOME[1]})
    order = Order.objects.get(prescription=rx)
    assert response.status_code == 302 and response["Location"] == reverse("family-order", args=[order.pk])
    assert order.kind == "delivery" and order.pharmacy == full and order.placed_by == daughter
    assert order.promised_date is not None and order.delivery_address == "海曙区公园路 18 弄"
    page = web.get(response["Location"]).content.decode()
    assert "Order placed: waiting for the pharmacy to accept it" in page
    assert 'hx-trigger="every 3s"' in page


def test_ordering_an_unapproved_prescription_is_refused_in_plain_words(web, rx, near):
    rx.status = PrescriptionStatus.SIGNED
    rx.save(update_fields=["status"])
    full, _ = near
    get = web.get(order_url(rx))
    assert get.status_code == 409 and "only an approved prescription can be filled" in get.content.decode()
    response = web.post(order_url(rx), {"kind": "pickup", "pharmacy": full.pk, "lat": HOME[0], "lng": HOME[1]})
    assert response.status_code == 409
    assert "only an approved prescription can be filled" in response.content.decode()
    assert not Order.objects.exists()


def test_pickup_at_a_pharmacy_lacking_an_item_is_refused_at_the_pharmacy_choice(web, rx, near):
    _, short = near
    response = web.post(order_url(rx), {"kind": "pickup", "pharmacy": short.pk, "lat": HOME[0], "lng": HOME[1]})
    page = response.content.decode()
    assert response.status_code == 409
    assert 'id="pickup-error"' in page and "does not have every item" in page
    assert not Order.objects.exists()


def test_a_second_order_for_the_same_prescription_is_refused(web, rx, near):
    full, _ = near
    first = web.post(order_url(rx), {"kind": "pickup", "pharmacy": full.pk, "lat": HOME[0], "lng": HOME[1]})
    assert first.status_code == 302
    again = web.post(order_url(rx), {"kind": "pickup", "pharmacy": full.pk, "lat": HOME[0], "lng": HOME[1]})
    assert again.status_code == 409
    assert "already has an order in progress" in again.content.decode()
    assert Order.objects.filter(prescription=rx).count() == 1


def test_delivery_without_a_location_or_address_is_a_400_at_the_field(web, rx, near):
    response = web.post(order_url(rx), {"kind": "delivery", "address": "公园路 18 弄"})
    assert response.status_code == 400
    assert "We do not know where to deliver yet" in response.content.decode()
    response = web.post(order_url(rx), {"kind": "delivery", "address": "", "lat": HOME[0], "lng": HOME[1]})
    assert response.status_code == 400
    assert 'id="address-error"' in response.content.decode()
    response = web.post(order_url(rx), {"kind": "teleport"})
    assert response.status_code == 400
    assert not Order.objects.exists()


def test_delivery_outside_every_radius_is_a_422_at_the_address(web, rx, near):
    page = web.get(order_url(rx), {"lat": 30.27, "lng": 120.15}).content.decode()
    assert 'id="delivery-refusal"' in page and 'id="delivery-form"' not in page  # nothing to press in vain
    response = web.post(order_url(rx), {"kind": "delivery", "address": "杭州", "lat": 30.27, "lng": 120.15})
    assert response.status_code == 422
    assert "No pharmacy delivers to this address." in response.content.decode()


def test_the_order_page_follows_the_pharmacys_steps_and_shows_the_pickup_code_when_ready(web, rx, near):
    full, _ = near
    order = orders.order_place(by=rx.patient.proxy_links.first().proxy, prescription=rx, kind="pickup", pharmacy=full)
    clerk = PharmacyStaffFactory(pharmacy=full).user
    orders.order_accept(order=order, pharmacy=full, by=clerk)
    fragment = web.get(reverse("family-order", args=[order.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<section class="card progress"') and 'data-status="accepted"' in fragment
    assert 'id="pickup-code"' not in fragment
    seen = re.search(r'\?seen=([0-9.]+)"', fragment).group(1)
    unchanged = web.get(reverse("family-order", args=[order.pk]), {"seen": seen}, HTTP_HX_REQUEST="true")
    assert unchanged.status_code == 204  # nothing new: htmx keeps the page as it is
    orders.order_ready(order=order, pharmacy=full, by=clerk)
    order.refresh_from_db()
    fragment = web.get(reverse("family-order", args=[order.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert f'<p class="pickup-code" id="pickup-code">{order.pickup_code}</p>' in fragment
    orders.order_pick_up(order=order, pharmacy=full, by=clerk, pickup_code=order.pickup_code)
    fragment = web.get(reverse("family-order", args=[order.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "Picked up" in fragment and "hx-trigger" not in fragment  # the poll stops at the end


def test_cancel_before_preparing_and_refusal_after(web, rx, near):
    full, _ = near
    proxy = rx.patient.proxy_links.first().proxy
    order = orders.order_place(by=proxy, prescription=rx, kind="pickup", pharmacy=full)
    assert web.post(reverse("family-order-cancel", args=[order.pk])).status_code == 302
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    second = orders.order_place(by=proxy, prescription=rx, kind="pickup", pharmacy=full)
    clerk = PharmacyStaffFactory(pharmacy=full).user
    orders.order_accept(order=second, pharmacy=full, by=clerk)
    orders.order_prepare(order=second, pharmacy=full, by=clerk)
    response = web.post(reverse("family-order-cancel", args=[second.pk]))
    assert response.status_code == 409 and 'id="order-refusal"' in response.content.decode()
    assert Order.objects.get(pk=second.pk).status == OrderStatus.PREPARING


def test_notifications_list_only_the_users_own(web, family, stranger):
    _, father = family
    notification_send(key="t:mine", patient=father, kind="order_placed", title="Mine: order placed")
    notification_send(key="t:theirs", patient=stranger, kind="order_placed", title="Theirs: order placed")
    other = DependantFactory(proxy=PatientFactory().account)
    notification_send(key="t:other", patient=other, kind="booking_reminder", title="Other family reminder")
    response = web.get(reverse("family-notifications"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Mine: order placed" in page
    assert "Theirs" not in page and "Other family reminder" not in page
    assert Notification.objects.count() == 3


def test_pages_need_a_login(client, rx):
    for url in (reverse("family-medicines"), reverse("family-notifications"), order_url(rx),
                reverse("family-visit", args=[rx.consultation.booking_id])):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_opening_a_managed_persons_visit_acts_for_them_and_switching_there_is_not_undone(web, rx, daughter):
    url = reverse("family-visit", args=[rx.consultation.booking_id])
    web.get(url)
    assert web.session["acting_for_patient_id"] == rx.patient.pk
    # She switches the banner to herself on that page: it posts back to the page, which now
    # sends her to her own visits rather than switching back to her father.
    switched = web.post(reverse("patient-act-for"), {"patient": daughter.patient.pk, "next": url})
    response = web.get(switched["Location"], HTTP_REFERER=f"http://testserver{url}")
    assert response.status_code == 302 and response["Location"] == reverse("patient-home")
    assert web.session["acting_for_patient_id"] == daughter.patient.pk


def test_the_family_reading_their_own_pages_writes_no_access_log(web, rx, near):
    from cloudhospital.models import AccessLog

    full, _ = near
    order = orders.order_place(by=rx.patient.proxy_links.first().proxy, prescription=rx, kind="pickup", pharmacy=full)
    for url in (reverse("family-visit", args=[rx.consultation.booking_id]), order_url(rx), reverse("family-medicines"),
                reverse("family-order", args=[order.pk])):
        assert web.get(url).status_code in (200, 409)
    assert not AccessLog.objects.exists()  # their own record: only others' reads are logged


def test_the_medicine_list_costs_a_fixed_number_of_queries(web, rx, near, drugs, django_assert_max_num_queries):
    full, _ = near
    proxy = rx.patient.proxy_links.first().proxy
    for _ in range(5):
        extra = ApprovedPrescriptionFactory(patient=rx.patient, items=[(drugs[0], 5), (drugs[1], 5)])
        orders.order_place(by=proxy, prescription=extra, kind="pickup", pharmacy=full)
    web.get(reverse("family-visit", args=[rx.consultation.booking_id]))  # acts for the father
    with django_assert_max_num_queries(18):
        response = web.get(reverse("family-medicines"))
    assert response.content.decode().count('class="card rx"') == 6
