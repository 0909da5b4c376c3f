"""The pharmacy counter console's pages through the Django client: who may open them (this
pharmacy's staff only; another pharmacy's order is a 404, anyone else a 403), each step
through the same verbs as the API with its refusals at the field and the API's status, and
the stock adjustment through stock_upsert_bulk."""

import pytest
from django.utils import timezone

from cloudhospital.models import Role
from pharmacy import orders
from pharmacy.models import Stock
from tests.factories import PharmacyStaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def staff_of(pharmacy, role=Role.PHARMACY_STAFF):
    return PharmacyStaffFactory(pharmacy=pharmacy, user=UserFactory(role=role, full_name="柜台 Counter")).user


@pytest.fixture
def pharmacy(stocked, drugs):
    return stocked()


@pytest.fixture
def order(rx, family, pharmacy):
    return orders.order_place(by=family[0].account, prescription=rx, kind="pickup", pharmacy=pharmacy)


@pytest.fixture
def counter(client, pharmacy):
    client.force_login(staff_of(pharmacy))
    return client


def on_hand(pharmacy, code):
    return Stock.objects.get(pharmacy=pharmacy, drug__code=code).on_hand


# --- Who may open the counter ---------------------------------------------------------------
def test_pharmacy_staff_land_on_the_counter_after_login(client, pharmacy):
    client.force_login(staff_of(pharmacy))
    assert client.get("/home/")["Location"] == "/counter/"


def more_orders(family, pharmacy, drugs, n):
    from tests.factories import ApprovedPrescriptionFactory

    _, father = family
    return [orders.order_place(by=family[0].account, kind="pickup", pharmacy=pharmacy,
                               prescription=ApprovedPrescriptionFactory(patient=father, items=[(drugs[0], 1)]))
            for _ in range(n)]


def test_the_counter_lists_this_pharmacys_orders_newest_first(counter, order, family, pharmacy, drugs):
    newer, = more_orders(family, pharmacy, drugs, 1)
    response = counter.get("/counter/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index(f'data-order="{newer.pk}"') < body.index(f'data-order="{order.pk}"')
    assert "张*" in body and "张林" not in body  # a pickup shows the surname only, as the API does
    assert "data-minutes-left=" in body  # the accept-by deadline and the time left


def test_another_pharmacys_order_is_not_listed(client, order, stocked):
    client.force_login(staff_of(stocked()))
    response = client.get("/counter/?status=all")
    assert response.status_code == 200 and f'data-order="{order.pk}"' not in response.content.decode()


def test_staff_of_another_pharmacy_get_404_on_the_order_and_its_steps(client, order, stocked):
    client.force_login(staff_of(stocked()))
    assert client.get(f"/counter/orders/{order.pk}/").status_code == 404
    response = client.post(f"/counter/orders/{order.pk}/accept/")
    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == "placed"


def test_a_patient_is_refused_the_counter_with_403_in_plain_words(client, family, order):
    client.force_login(family[0].account)
    for url in ("/counter/", "/counter/stock/", f"/counter/orders/{order.pk}/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert 'id="problem"' in response.content.decode()


def test_a_review_pharmacist_without_a_pharmacy_is_refused(client):
    client.force_login(UserFactory(role=Role.PHARMACIST))
    assert client.get("/counter/").status_code == 403


def test_a_pharmacist_member_of_the_pharmacy_may_use_the_counter(client, pharmacy, order):
    client.force_login(staff_of(pharmacy, role=Role.PHARMACIST))
    assert client.get(f"/counter/orders/{order.pk}/").status_code == 200


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/counter/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_an_unknown_status_filter_is_a_400(counter):
    assert counter.get("/counter/?status=nonsense").status_code == 400


def test_the_poll_answers_the_table_alone(counter, order):
    response = counter.get("/counter/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="orders")
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<section id="orders"')
    assert f'data-order="{order.pk}"' in body and "<html" not in body


def test_the_list_reads_in_a_fixed_number_of_queries(counter, order, family, pharmacy, drugs,
                                                     django_assert_max_num_queries):
    more_orders(family, pharmacy, drugs, 5)
    with django_assert_max_num_queries(15):
        assert counter.get("/counter/?status=all").status_code == 200


# --- The order page and its steps ---------------------------------------------------------------
def test_the_order_page_shows_the_verification_and_only_the_allowed_steps(counter, order):
    response = counter.get(f"/counter/orders/{order.pk}/")
    body = response.content.decode()
    assert 'data-signature="valid"' in body and 'data-dispensable="yes"' in body
    assert 'data-action="accept"' in body and 'data-action="reject"' in body
    assert 'data-action="picked-up"' not in body and 'data-action="delivered"' not in body
    assert 'data-drug="AML5"' in body and 'data-drug="VAL80"' in body


def test_reject_without_a_reason_is_a_400_with_the_message_at_the_field(counter, order):
    response = counter.post(f"/counter/orders/{order.pk}/reject/", {"reject-reason": "  "})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_reject_reject-reason-errors"' in body and 'aria-invalid="true"' in body
    order.refresh_from_db()
    assert order.status == "placed"


def test_reject_with_a_reason_moves_the_order_on(counter, order):
    response = counter.post(f"/counter/orders/{order.pk}/reject/", {"reject-reason": "缺货 out of stock"})
    assert response.status_code == 302 and response["Location"] == "/counter/"
    order.refresh_from_db()
    assert order.reject_reason == "缺货 out of stock"


def test_a_step_the_order_does_not_allow_is_a_409_in_plain_words(counter, order):
    response = counter.post(f"/counter/orders/{order.pk}/ready/")
    assert response.status_code == 409
    assert "field-error" in response.content.decode()
    order.refresh_from_db()
    assert order.status == "placed"


def test_an_unknown_step_is_a_404(counter, order):
    assert counter.post(f"/counter/orders/{order.pk}/teleport/").status_code == 404


def test_a_wrong_pickup_code_is_refused_at_the_field_and_counted_then_the_right_one_hands_over(counter, order, pharmacy):
    for action in ("accept", "preparing", "ready"):
        assert counter.post(f"/counter/orders/{order.pk}/{action}/").status_code == 302, action
    order.refresh_from_db()
    wrong = "000000" if order.pickup_code != "000000" else "111111"
    response = counter.post(f"/counter/orders/{order.pk}/picked-up/", {"picked-up-pickup_code": wrong})
    assert response.status_code == 422
    body = response.content.decode()
    assert 'id="id_picked-up_picked-up-pickup_code-errors"' in body
    order.refresh_from_db()
    assert order.status == "ready_for_pickup" and order.pickup_code_attempts == 1
    response = counter.post(f"/counter/orders/{order.pk}/picked-up/", {"picked-up-pickup_code": order.pickup_code})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "picked_up" and order.dispense_record.handover == "pickup"
    assert on_hand(pharmacy, "AML5") == 100 - 14


def test_a_blank_pickup_code_is_a_400_and_not_counted(counter, order):
    for action in ("accept", "ready"):
        counter.post(f"/counter/orders/{order.pk}/{action}/")
    response = counter.post(f"/counter/orders/{order.pk}/picked-up/", {"picked-up-pickup_code": ""})
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.pickup_code_attempts == 0


def test_a_delivery_goes_out_and_is_delivered(client, rx, family, stocked):
    from tests.pharmacy.conftest import HOME

    pharmacy = stocked(delivering=True, latitude=HOME[0], longitude=HOME[1])
    order = orders.order_place(by=family[0].account, prescription=rx, kind="delivery", lat=HOME[0], lng=HOME[1],
                               address="海曙区鼓楼 1 号", contact_name="张薇", contact_phone="13800000001")
    client.force_login(staff_of(pharmacy))
    assert client.post(f"/counter/orders/{order.pk}/accept/").status_code == 302
    response = client.post(f"/counter/orders/{order.pk}/out-for-delivery/", {"out-for-delivery-courier_name": "王师傅"})
    assert response.status_code == 400  # phone and tracking number missing, at their fields
    assert "id_out-for-delivery_out-for-delivery-courier_phone-errors" in response.content.decode()
    response = client.post(f"/counter/orders/{order.pk}/out-for-delivery/", {
        "out-for-delivery-courier_name": "王师傅", "out-for-delivery-courier_phone": "13600000000",
        "out-for-delivery-tracking_number": "SF123"})
    assert response.status_code == 302
    response = client.post(f"/counter/orders/{order.pk}/delivered/", {"delivered-recipient_name": "张薇"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "delivered" and order.recipient_name == "张薇" and order.received_at <= timezone.now()


# --- Stock ------------------------------------------------------------------------------------
def test_the_stock_page_highlights_low_lines(counter, pharmacy):
    Stock.objects.filter(pharmacy=pharmacy, drug__code="VAL80").update(on_hand=5)
    body = counter.get("/counter/stock/").content.decode()
    assert 'data-drug="VAL80" data-low="yes"' in body and 'data-drug="AML5" data-low="no"' in body


def test_adjusting_stock_with_a_non_number_is_a_400_at_the_field(counter, pharmacy):
    response = counter.post("/counter/stock/", {"drug": "AML5", "mode": "change", "quantity": "lots", "reason": "delivery"})
    assert response.status_code == 400
    assert 'id="id_quantity-errors"' in response.content.decode()
    assert on_hand(pharmacy, "AML5") == 100


def test_adjusting_stock_without_a_reason_is_a_400(counter, pharmacy):
    response = counter.post("/counter/stock/", {"drug": "AML5", "mode": "change", "quantity": "5", "reason": ""})
    assert response.status_code == 400 and 'id="id_reason-errors"' in response.content.decode()


def test_a_change_adds_to_the_level_and_records_why(counter, pharmacy):
    response = counter.post("/counter/stock/", {"drug": "AML5", "mode": "change", "quantity": "-30", "reason": "damaged"})
    assert response.status_code == 302
    assert on_hand(pharmacy, "AML5") == 70
    row = Stock.objects.get(pharmacy=pharmacy, drug__code="AML5")
    assert row.history.latest().history_change_reason == "counter: damaged"


def test_a_counted_level_replaces_it_and_cannot_go_under_what_orders_hold(counter, pharmacy, order):
    response = counter.post("/counter/stock/", {"drug": "VAL80", "mode": "level", "quantity": "10", "reason": "stocktake"})
    assert response.status_code == 409  # 28 valsartan are reserved for the order
    assert 'id="id_quantity-errors"' in response.content.decode()
    assert on_hand(pharmacy, "VAL80") == 100
    response = counter.post("/counter/stock/", {"drug": "VAL80", "mode": "level", "quantity": "40", "reason": "stocktake"})
    assert response.status_code == 302 and on_hand(pharmacy, "VAL80") == 40


def test_a_change_below_zero_is_refused(counter, pharmacy):
    response = counter.post("/counter/stock/", {"drug": "AML5", "mode": "change", "quantity": "-101", "reason": "x"})
    assert response.status_code == 400 and on_hand(pharmacy, "AML5") == 100


def test_adjusting_adds_a_new_line_for_a_drug_not_yet_stocked(counter, pharmacy, drugs):
    response = counter.post("/counter/stock/", {"drug": "MET500", "mode": "change", "quantity": "60", "reason": "delivery"})
    assert response.status_code == 302 and on_hand(pharmacy, "MET500") == 60


def test_a_patient_cannot_adjust_stock(client, family, pharmacy):
    client.force_login(family[0].account)
    response = client.post("/counter/stock/", {"drug": "AML5", "mode": "level", "quantity": "1", "reason": "x"})
    assert response.status_code == 403 and on_hand(pharmacy, "AML5") == 100


def test_a_stock_lines_adjust_link_preselects_its_drug(counter, pharmacy):
    body = counter.get("/counter/stock/?drug=VAL80").content.decode()
    assert '<option value="VAL80" selected>' in body
    assert 'href="?drug=AML5#adjust"' in body
