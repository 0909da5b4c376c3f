"""Order endpoints: the family's side (pharmacies for a prescription, place, list, read,
cancel, FHIR), the pharmacy's side (token or staff login, masking, steps, 404 for another
pharmacy's order, 409 naming the state), and notifications."""

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationdispense import MedicationDispense
from rest_framework.test import APIClient

from cloudhospital.permissions import SYSTEM
from pharmacy.access import token_create
from pharmacy.models import Order, Stock
from tests.factories import ApprovedPrescriptionFactory, PharmacyStaffFactory, UserFactory
from tests.pharmacy.conftest import HOME, north_of_home
from tests.api_errors import error_attrs, error_code, error_detail

pytestmark = pytest.mark.django_db


@pytest.fixture
def proxy_client(family, client_for):
    return client_for(family[0].account)


@pytest.fixture
def pharmacy_client():
    def make(pharmacy):
        _, plaintext = token_create(pharmacy=pharmacy, name="POS", by=SYSTEM)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Pharmacy {plaintext}")
        return client

    return make


def place_pickup(client, rx, pharmacy):
    response = client.post("/api/orders/", {"prescription": rx.pk, "kind": "pickup", "pharmacy": pharmacy.pk})
    assert response.status_code == 201, response.json()
    return response.json()


# --- Pharmacies for a prescription ------------------------------------------------------------
def test_prescription_pharmacies_lists_those_with_every_item_nearest_first(
        proxy_client, rx, stocked, django_assert_max_num_queries):
    far = stocked(latitude=north_of_home(3)[0], longitude=HOME[1], name="远 Far")
    near = stocked(latitude=north_of_home(1)[0], longitude=HOME[1], name="近 Near")
    stocked(latitude=HOME[0], longitude=HOME[1], val=10)  # nearest, but short of valsartan
    with django_assert_max_num_queries(12):
        response = proxy_client.get(f"/api/prescriptions/{rx.pk}/pharmacies/", {"lat": HOME[0], "lng": HOME[1]})
    assert response.status_code == 200
    body = response.json()["results"]
    assert response.json()["count"] == 2 and [row["id"] for row in body] == [near.pk, far.pk]
    assert body[0]["distance_km"] == pytest.approx(1.0, abs=0.02)
    assert {"open_now", "next_opening", "closes_at"} <= set(body[0])


def test_prescription_pharmacies_of_someone_elses_prescription_is_404(client_for, stranger, rx, stocked):
    stocked()
    response = client_for(stranger.account).get(f"/api/prescriptions/{rx.pk}/pharmacies/", {"lat": 29.8, "lng": 121.5})
    assert response.status_code == 404


def test_prescription_pharmacies_refuses_a_prescription_not_approved(proxy_client, rx):
    type(rx).objects.filter(pk=rx.pk).update(status="dispensed")
    response = proxy_client.get(f"/api/prescriptions/{rx.pk}/pharmacies/", {"lat": 29.8, "lng": 121.5})
    assert response.status_code == 409 and "dispensed" in error_detail(response)


def test_prescription_pharmacies_refuses_coordinates_out_of_range(proxy_client, rx):
    response = proxy_client.get(f"/api/prescriptions/{rx.pk}/pharmacies/", {"lat": 95, "lng": 121.5})
    assert response.status_code == 400 and "lat" in error_attrs(response)


# --- The family's orders -----------------------------------------------------------------------
def test_post_order_pickup_reserves_and_answers_the_order(proxy_client, rx, stocked):
    pharmacy = stocked()
    body = place_pickup(proxy_client, rx, pharmacy)
    assert body["status"] == "placed" and body["pharmacy"]["id"] == pharmacy.pk and body["pickup_code"] is None
    assert sorted((line["drug_code"], line["quantity"]) for line in body["lines"]) == [("AML5", 14), ("VAL80", 28)]
    assert Stock.objects.get(pharmacy=pharmacy, drug__code="AML5").reserved == 14


def test_post_order_delivery_answers_the_chosen_pharmacy_and_promised_date(proxy_client, rx, stocked):
    pharmacy = stocked(delivering=True)
    response = proxy_client.post("/api/orders/", {"prescription": rx.pk, "kind": "delivery", "lat": HOME[0],
                                                  "lng": HOME[1], "address": "海曙区鼓楼 1 号 2 单元"})
    assert response.status_code == 201
    assert response.json()["pharmacy"]["id"] == pharmacy.pk and response.json()["promised_date"]


def test_post_order_for_someone_elses_prescription_is_refused(client_for, stranger, rx, stocked):
    pharmacy = stocked()
    response = client_for(stranger.account).post("/api/orders/", {"prescription": rx.pk, "kind": "pickup",
                                                                   "pharmacy": pharmacy.pk})
    assert response.status_code == 400 and "prescription" in error_attrs(response)
    assert not Stock.objects.filter(reserved__gt=0).exists()


@pytest.mark.parametrize("body, field", [
    ({"kind": "teleport"}, "kind"),
    ({"kind": "delivery", "lat": 100, "lng": 121.5, "address": "x"}, "lat"),
    ({"kind": "delivery", "lat": 29.8, "lng": 121.5}, "address"),
    ({"kind": "pickup"}, "pharmacy"),
    ({"kind": "pickup", "pharmacy": 999999}, "pharmacy"),
    ({"kind": "pickup", "colour": "red"}, "colour"),
])
def test_post_order_bad_input_is_400_naming_the_field(proxy_client, rx, stocked, body, field):
    stocked(delivering=True)
    response = proxy_client.post("/api/orders/", {"prescription": rx.pk, **body})
    assert response.status_code == 400 and field in error_attrs(response), response.json()
    assert not Order.objects.exists()


def test_post_order_outside_every_delivery_radius_is_422(proxy_client, rx, stocked):
    stocked(delivering=True)
    response = proxy_client.post("/api/orders/", {"prescription": rx.pk, "kind": "delivery", "lat": 39.9,
                                                  "lng": 116.4, "address": "北京"})
    assert response.status_code == 422 and error_code(response) == "outside_delivery_area"


def test_a_pharmacy_token_cannot_place_orders(pharmacy_client, rx, stocked):
    pharmacy = stocked()
    response = pharmacy_client(pharmacy).post("/api/orders/", {"prescription": rx.pk, "kind": "pickup",
                                                               "pharmacy": pharmacy.pk})
    assert response.status_code == 401


def test_order_list_shows_the_familys_orders_only(
        proxy_client, client_for, stranger, rx, stocked, django_assert_max_num_queries):
    pharmacy = stocked()
    place_pickup(proxy_client, rx, pharmacy)
    other_rx = ApprovedPrescriptionFactory(patient=stranger, items=[(rx.items.first().drug, 1)])
    Order.objects.create(prescription=other_rx, patient=stranger, placed_by=stranger.account, kind="pickup",
                         pharmacy=pharmacy, latitude=HOME[0], longitude=HOME[1])
    with django_assert_max_num_queries(8):
        response = proxy_client.get("/api/orders/")
    assert response.status_code == 200 and [row["prescription"] for row in response.json()["results"]] == [rx.pk]
    stranger_order = Order.objects.get(prescription=other_rx)
    assert proxy_client.get(f"/api/orders/{stranger_order.pk}/").status_code == 404
    assert client_for(stranger.account).get("/api/orders/").json()["count"] == 1


def test_the_family_sees_the_pickup_code_once_the_order_is_ready(proxy_client, pharmacy_client, rx, stocked):
    pharmacy = stocked()
    order = place_pickup(proxy_client, rx, pharmacy)
    shop = pharmacy_client(pharmacy)
    assert shop.post(f"/api/pharmacy/orders/{order['id']}/accept/").status_code == 200
    ready = shop.post(f"/api/pharmacy/orders/{order['id']}/ready/")
    assert ready.status_code == 200 and "pickup_code" not in ready.json()
    code = proxy_client.get(f"/api/orders/{order['id']}/").json()["pickup_code"]
    assert code == Order.objects.get(pk=order["id"]).pickup_code and len(code) == 6


def test_the_family_can_cancel_a_placed_order(proxy_client, rx, stocked):
    pharmacy = stocked()
    order = place_pickup(proxy_client, rx, pharmacy)
    response = proxy_client.post(f"/api/orders/{order['id']}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert not Stock.objects.filter(reserved__gt=0).exists()


def test_voiding_through_the_api_withdraws_the_order_for_both_sides(proxy_client, pharmacy_client, client_for, rx, stocked):
    pharmacy = stocked()
    order = place_pickup(proxy_client, rx, pharmacy)
    shop = pharmacy_client(pharmacy)
    assert shop.post(f"/api/pharmacy/orders/{order['id']}/accept/").status_code == 200
    voided = client_for(rx.doctor).post(f"/api/prescriptions/{rx.pk}/void/", {"reason": "改用缬沙坦单药"}, format="json")
    assert voided.status_code == 200
    family_view = proxy_client.get(f"/api/orders/{order['id']}/").json()
    assert family_view["status"] == "withdrawn" and "改用缬沙坦单药" in family_view["failure_reason"]
    pharmacy_view = shop.get(f"/api/pharmacy/orders/{order['id']}/").json()
    # The pharmacy learns the order is off, not the doctor's clinical reason.
    assert pharmacy_view["status"] == "withdrawn" and "改用缬沙坦单药" not in str(pharmacy_view)
    refused = shop.post(f"/api/pharmacy/orders/{order['id']}/ready/")
    assert refused.status_code == 409 and "withdrawn" in error_detail(refused)
    assert not Stock.objects.filter(reserved__gt=0).exists()


# --- The pharmacy's side -----------------------------------------------------------------------
def test_pharmacy_list_masks_a_pickup_patient_and_shows_nothing_else_of_the_record(
        proxy_client, pharmacy_client, rx, stocked, family, django_assert_max_num_queries):
    pharmacy = stocked()
    place_pickup(proxy_client, rx, pharmacy)
    with django_assert_max_num_queries(10):
        response = pharmacy_client(pharmacy).get("/api/pharmacy/orders/")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["patient_name"] == "张***" and row["delivery_address"] is None
    assert "*" in row["patient_phone"] or row["patient_phone"] == ""
    assert row["verify_url"] == f"/api/pharmacy/orders/{row['id']}/verify/"
    assert [item["quantity"] for item in row["prescription"]["items"]] == [14, 28]
    text = response.content.decode()
    for secret in ("I10", "原发性高血压", "diagnosis", "pickup_code", family[1].id_number, "birth"):
        assert secret not in text


def test_pharmacy_sees_name_phone_and_address_for_a_delivery(proxy_client, pharmacy_client, rx, stocked, family):
    pharmacy = stocked(delivering=True)
    proxy_client.post("/api/orders/", {"prescription": rx.pk, "kind": "delivery", "lat": HOME[0], "lng": HOME[1],
                                       "address": "海曙区鼓楼 1 号", "contact_phone": "13912345678"})
    (row,) = pharmacy_client(pharmacy).get("/api/pharmacy/orders/").json()["results"]
    assert (row["patient_name"], row["patient_phone"], row["delivery_address"]) == (
        family[1].full_name, "13912345678", "海曙区鼓楼 1 号")


def test_another_pharmacys_order_is_404_and_not_listed(proxy_client, pharmacy_client, rx, stocked):
    mine, other = stocked(), stocked()
    order = place_pickup(proxy_client, rx, mine)
    client = pharmacy_client(other)
    assert client.get("/api/pharmacy/orders/").json()["count"] == 0
    assert client.get(f"/api/pharmacy/orders/{order['id']}/").status_code == 404
    assert client.post(f"/api/pharmacy/orders/{order['id']}/accept/").status_code == 404
    assert Order.objects.get(pk=order["id"]).status == "placed"


def test_patients_and_strangers_cannot_use_the_pharmacy_side(proxy_client, client_for, rx, stocked):
    order = place_pickup(proxy_client, rx, stocked())
    assert proxy_client.get("/api/pharmacy/orders/").status_code == 403
    assert proxy_client.post(f"/api/pharmacy/orders/{order['id']}/accept/").status_code == 403
    assert APIClient().get("/api/pharmacy/orders/").status_code == 401


def test_pharmacy_detail_and_verify_show_the_signature_check(proxy_client, pharmacy_client, rx, stocked):
    pharmacy = stocked()
    order = place_pickup(proxy_client, rx, pharmacy)
    client = pharmacy_client(pharmacy)
    detail = client.get(f"/api/pharmacy/orders/{order['id']}/").json()
    assert detail["signature_check"]["valid"] is True and detail["signature_check"]["key_id"] == rx.key_id
    rx.items.filter(position=1).update(quantity=280)
    verify = client.get(f"/api/pharmacy/orders/{order['id']}/verify/").json()
    assert verify["valid"] is False and "differs" in verify["reason"]
    refused = client.post(f"/api/pharmacy/orders/{order['id']}/accept/")
    assert refused.status_code == 409 and error_code(refused) == "signature_invalid"


def test_staff_login_runs_the_pickup_flow_and_the_wrong_code_is_refused(proxy_client, client_for, rx, stocked):
    pharmacy = stocked()
    order = place_pickup(proxy_client, rx, pharmacy)
    staff = client_for(PharmacyStaffFactory(pharmacy=pharmacy).user)
    url = f"/api/pharmacy/orders/{order['id']}"
    early = staff.post(f"{url}/picked-up/", {"pickup_code": "000000"})
    assert early.status_code == 409 and error_detail(early) == "The order is placed; it cannot become picked_up."
    assert staff.post(f"{url}/accept/").json()["status"] == "accepted"
    assert staff.post(f"{url}/preparing/").json()["status"] == "preparing"
    assert staff.post(f"{url}/ready/").json()["status"] == "ready_for_pickup"
    code = proxy_client.get(f"/api/orders/{order['id']}/").json()["pickup_code"]
    wrong = staff.post(f"{url}/picked-up/", {"pickup_code": f"{(int(code) + 1) % 10**6:06d}"})
    assert wrong.status_code == 422 and "4 attempts left" in error_detail(wrong)
    assert error_code(wrong) == "wrong_pickup_code" and "pickup_code" in error_attrs(wrong)
    done = staff.post(f"{url}/picked-up/", {"pickup_code": code})
    assert done.status_code == 200 and done.json()["status"] == "picked_up"
    assert proxy_client.get(f"/api/prescriptions/{rx.pk}/").json()["status"] == "dispensed"


def test_token_runs_the_delivery_flow_and_the_family_gets_fhir_medication_dispenses(
        proxy_client, pharmacy_client, rx, stocked):
    pharmacy = stocked(delivering=True)
    order = proxy_client.post("/api/orders/", {"prescription": rx.pk, "kind": "delivery", "lat": HOME[0],
                                               "lng": HOME[1], "address": "海曙区鼓楼 1 号"}).json()
    shop = pharmacy_client(pharmacy)
    url = f"/api/pharmacy/orders/{order['id']}"
    assert shop.post(f"{url}/accept/").status_code == 200
    assert shop.post(f"{url}/out-for-delivery/", {"courier_name": "王师傅"}).status_code == 400
    out = shop.post(f"{url}/out-for-delivery/", {"courier_name": "王师傅", "courier_phone": "13900001111",
                                                 "tracking_number": "SF1234567890"})
    assert out.status_code == 200 and out.json()["tracking_number"] == "SF1234567890"
    assert shop.post(f"{url}/delivered/", {"recipient_name": "张薇"}).json()["status"] == "delivered"
    again = shop.post(f"{url}/delivered/", {"recipient_name": "张薇"})
    assert again.status_code == 409 and "delivered" in error_detail(again)

    bundle = proxy_client.get(f"/api/orders/{order['id']}/fhir/").json()
    Bundle.parse_obj(bundle)
    dispenses = [MedicationDispense.parse_obj(entry["resource"]) for entry in bundle["entry"]]
    assert {d.status for d in dispenses} == {"completed"}
    assert sorted(d.quantity.value for d in dispenses) == [14, 28]
    assert all(d.whenHandedOver and d.authorizingPrescription for d in dispenses)
    assert dispenses[0].destination.display == "海曙区鼓楼 1 号" and dispenses[0].receiver[0].display == "张薇"


def test_the_fhir_view_of_an_open_order_is_in_preparation(proxy_client, rx, stocked):
    order = place_pickup(proxy_client, rx, stocked())
    bundle = proxy_client.get(f"/api/orders/{order['id']}/fhir/").json()
    assert {entry["resource"]["status"] for entry in bundle["entry"]} == {"preparation"}


def test_reject_through_the_api_moves_the_order_and_the_old_pharmacy_loses_it(
        proxy_client, pharmacy_client, rx, stocked, django_capture_on_commit_callbacks):
    first = stocked(latitude=HOME[0], longitude=HOME[1])
    second = stocked(latitude=north_of_home(1)[0], longitude=HOME[1])
    order = place_pickup(proxy_client, rx, first)
    shop = pharmacy_client(first)
    assert shop.post(f"/api/pharmacy/orders/{order['id']}/reject/", {}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        rejected = shop.post(f"/api/pharmacy/orders/{order['id']}/reject/", {"reason": "药师不在 no pharmacist"})
    assert rejected.status_code == 200
    assert shop.get(f"/api/pharmacy/orders/{order['id']}/").status_code == 404
    assert pharmacy_client(second).get(f"/api/pharmacy/orders/{order['id']}/").json()["status"] == "placed"
    assert proxy_client.get(f"/api/orders/{order['id']}/").json()["reassignments"] == 1


def test_the_family_reads_each_order_step_in_notifications(proxy_client, pharmacy_client, rx, stocked):
    pharmacy = stocked()
    order = place_pickup(proxy_client, rx, pharmacy)
    shop = pharmacy_client(pharmacy)
    shop.post(f"/api/pharmacy/orders/{order['id']}/accept/")
    shop.post(f"/api/pharmacy/orders/{order['id']}/ready/")
    kinds = [row["kind"] for row in proxy_client.get("/api/notifications/").json()["results"]]
    assert kinds[:3] == ["order_ready", "order_accepted", "order_placed"]
    outsider = APIClient()
    outsider.force_authenticate(UserFactory())
    assert outsider.get("/api/notifications/").json()["count"] == 0


def test_hospital_staff_see_orders_in_the_admin_without_the_pickup_code(proxy_client, pharmacy_client, rx, stocked):
    from django.test import Client

    pharmacy = stocked()
    order = place_pickup(proxy_client, rx, pharmacy)
    pharmacy_client(pharmacy).post(f"/api/pharmacy/orders/{order['id']}/accept/")
    pharmacy_client(pharmacy).post(f"/api/pharmacy/orders/{order['id']}/ready/")
    code = Order.objects.get(pk=order["id"]).pickup_code
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    listing = admin.get("/admin/pharmacy/order/?flagged_for_staff__exact=0")
    page = admin.get(f"/admin/pharmacy/order/{order['id']}/change/")
    assert listing.status_code == 200 and page.status_code == 200
    text = page.content.decode()
    assert "pickup code:" not in text.lower() and f">{code}<" not in text


def test_a_pharmacy_verifies_a_prescription_offline_with_only_its_token(proxy_client, pharmacy_client, rx, stocked):
    import base64
    import json as jsonlib

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    pharmacy = stocked()
    order = place_pickup(proxy_client, rx, pharmacy)
    pos = pharmacy_client(pharmacy)
    check = pos.get(f"/api/pharmacy/orders/{order['id']}/verify/").json()
    assert (check["valid"], check["dispensable"], check["prescription_status"]) == (True, True, "approved")
    key = pos.get(f"/api/pharmacy/signing-keys/{check['key_id']}/").json()
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    canonical = jsonlib.dumps(check["signed_content"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    public.verify(base64.b64decode(check["signature"]), canonical.encode())  # raises if it does not verify
    assert pos.get("/api/signing-keys/").status_code in (401, 403)  # the staff-facing list stays as it was


def test_a_voided_prescription_verifies_but_is_not_dispensable(proxy_client, pharmacy_client, rx, stocked):
    from prescriptions.models import Prescription

    pharmacy = stocked()
    order = place_pickup(proxy_client, rx, pharmacy)
    Prescription.objects.filter(pk=rx.pk).update(status="voided")
    check = pharmacy_client(pharmacy).get(f"/api/pharmacy/orders/{order['id']}/verify/").json()
    assert (check["valid"], check["dispensable"], check["prescription_status"]) == (True, False, "voided")
    assert "voided" in check["reason"]


def test_another_pharmacy_cannot_read_the_signed_content(proxy_client, pharmacy_client, rx, stocked):
    order = place_pickup(proxy_client, rx, stocked())
    assert pharmacy_client(stocked()).get(f"/api/pharmacy/orders/{order['id']}/verify/").status_code == 404
