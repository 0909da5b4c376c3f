"""Real threads, separate connections, PostgreSQL: concurrent orders never oversell, losers
move to the next pharmacy or hear that none has it, one prescription gets one live order,
and a pharmacy accepting while the sweep reassigns leaves one consistent outcome."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from cloudhospital.errors import DomainError
from pharmacy import orders
from pharmacy.orders import reassignment
from pharmacy.models import Order, OrderAssignment, Stock
from tests.factories import (
    pos,
    ApprovedPrescriptionFactory,
    DependantFactory,
    ProxyLinkFactory,
    DrugFactory,
    PatientFactory,
    PharmacyFactory,
    StockFactory,
)
from tests.pharmacy.conftest import HOME, north_of_home
from tests.pharmacy.test_concurrency import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises every writer, so it cannot express this race; run with DATABASE_URL=postgres://...",
    ),
]


def prescriptions_for(count: int, drugs, quantity: int):
    return [ApprovedPrescriptionFactory(patient=PatientFactory(), items=[(drug, quantity) for drug in drugs])
            for _ in range(count)]


def stock_of(pharmacy, drug) -> Stock:
    return Stock.objects.get(pharmacy=pharmacy, drug=drug)


def test_concurrent_delivery_orders_fill_the_nearest_then_the_next_and_never_oversell():
    drugs = [DrugFactory(), DrugFactory()]
    near = PharmacyFactory(delivering=True, latitude=north_of_home(1)[0], longitude=HOME[1])
    far = PharmacyFactory(delivering=True, latitude=north_of_home(4)[0], longitude=HOME[1])
    # Enough of the first drug everywhere; the second only for 7 orders near and 5 far.
    for pharmacy, second in ((near, 70), (far, 50)):
        StockFactory(pharmacy=pharmacy, drug=drugs[0], on_hand=1000)
        StockFactory(pharmacy=pharmacy, drug=drugs[1], on_hand=second)
    rxs = prescriptions_for(20, drugs, 10)

    outcomes = race(lambda i: orders.order_place(by=rxs[i].patient.account, prescription=rxs[i], kind="delivery",
                                                 lat=HOME[0], lng=HOME[1], address=f"鼓楼 {i} 号"), 20)

    placed = [o for o in outcomes if isinstance(o, Order)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(placed) == 12 and len(refused) == 8, outcomes
    assert {error.code for error in refused} == {"no_pharmacy_has_stock"}
    assert sum(o.pharmacy_id == near.pk for o in placed) == 7 and sum(o.pharmacy_id == far.pk for o in placed) == 5
    assert (stock_of(near, drugs[1]).reserved, stock_of(far, drugs[1]).reserved) == (70, 50)
    assert (stock_of(near, drugs[0]).reserved, stock_of(far, drugs[0]).reserved) == (70, 50)
    assert Order.objects.count() == 12


def test_concurrent_pickups_at_one_pharmacy_serve_what_is_on_the_shelf_and_refuse_the_rest():
    drug = DrugFactory()
    pharmacy = PharmacyFactory()
    StockFactory(pharmacy=pharmacy, drug=drug, on_hand=40)
    rxs = prescriptions_for(12, [drug], 10)

    outcomes = race(lambda i: orders.order_place(by=rxs[i].patient.account, prescription=rxs[i], kind="pickup",
                                                 pharmacy=pharmacy), 12)

    assert sum(isinstance(o, Order) for o in outcomes) == 4
    assert {o.code for o in outcomes if isinstance(o, DomainError)} == {"out_of_stock"}
    assert stock_of(pharmacy, drug).reserved == 40


def test_one_prescription_ordered_by_several_family_members_at_once_gets_one_live_order():
    drug = DrugFactory()
    pharmacies = [PharmacyFactory() for _ in range(3)]
    for pharmacy in pharmacies:
        StockFactory(pharmacy=pharmacy, drug=drug, on_hand=100)
    father = DependantFactory()
    proxies = [father.proxy_links.first().proxy] + [PatientFactory().account for _ in range(5)]
    for proxy in proxies[1:]:
        ProxyLinkFactory(patient=father, proxy=proxy, relationship="child")  # each with a proxy consent
    rx = ApprovedPrescriptionFactory(patient=father, items=[(drug, 10)])

    outcomes = race(lambda i: orders.order_place(by=proxies[i], prescription=rx, kind="pickup",
                                                 pharmacy=pharmacies[i % 3]), 6)

    assert sum(isinstance(o, Order) for o in outcomes) == 1
    assert {o.code for o in outcomes if isinstance(o, DomainError)} == {"order_exists"}
    assert Order.objects.filter(prescription=rx).count() == 1
    assert sum(Stock.objects.values_list("reserved", flat=True)) == 10


def test_accept_racing_the_timeout_sweep_leaves_one_outcome_and_one_reservation():
    drug = DrugFactory()
    first = PharmacyFactory(latitude=HOME[0], longitude=HOME[1])
    second = PharmacyFactory(latitude=north_of_home(1)[0], longitude=HOME[1])
    for pharmacy in (first, second):
        StockFactory(pharmacy=pharmacy, drug=drug, on_hand=10)
    rxs = prescriptions_for(8, [drug], 1)
    placed = [orders.order_place(by=rx.patient.account, prescription=rx, kind="pickup", pharmacy=first)
              for rx in rxs]
    later = timezone.now() + timedelta(minutes=11)

    def worker(i):
        order = placed[i // 2]
        if i % 2:
            return reassignment.order_reassign(order_id=order.pk, attempt=1, now=later)
        return orders.order_accept(order=order, pharmacy=first, by=pos(first)).status

    outcomes = race(worker, 16)

    for order in Order.objects.filter(pk__in=[o.pk for o in placed]):
        assignments = OrderAssignment.objects.filter(order=order)
        if order.status == "accepted":
            assert order.pharmacy == first and assignments.count() == 1
        else:
            assert (order.status, order.pharmacy) == ("placed", second) and assignments.count() == 2
    assert stock_of(first, drug).reserved + stock_of(second, drug).reserved == 8
    assert all(not isinstance(o, Exception) or isinstance(o, DomainError) for o in outcomes), outcomes


def test_voiding_racing_the_hand_over_leaves_one_outcome_and_never_deadlocks():
    # Handing over locks the order, then the prescription; voiding locks them in the same
    # order (prescriptions.lifecycle._locked_with_orders), so PostgreSQL never has to break
    # a deadlock: each pair ends dispensed or withdrawn, and the loser gets a 409.
    from prescriptions import lifecycle as rx_lifecycle

    drug = DrugFactory()
    pharmacy = PharmacyFactory()
    StockFactory(pharmacy=pharmacy, drug=drug, on_hand=100)
    rxs = prescriptions_for(8, [drug], 1)
    codes = []
    for rx in rxs:
        order = orders.order_place(by=rx.patient.account, prescription=rx, kind="pickup", pharmacy=pharmacy)
        orders.order_accept(order=order, pharmacy=pharmacy, by=pos(pharmacy))
        codes.append((order, orders.order_ready(order=order, pharmacy=pharmacy, by=pos(pharmacy)).pickup_code))

    def worker(i):
        order, code = codes[i // 2]
        if i % 2:
            return rx_lifecycle.prescription_void(by=rxs[i // 2].doctor, prescription=rxs[i // 2], reason="停药").status
        return orders.order_pick_up(order=order, pharmacy=pharmacy, by=pos(pharmacy), pickup_code=code).status

    outcomes = race(worker, 16)

    assert all(isinstance(o, str) or (isinstance(o, DomainError) and o.kind == "conflict") for o in outcomes), outcomes
    for (order, _), rx in zip(codes, rxs):
        order.refresh_from_db()
        rx.refresh_from_db()
        assert (order.status, rx.status) in {("picked_up", "dispensed"), ("withdrawn", "voided")}
    stock = stock_of(pharmacy, drug)
    dispensed = Order.objects.filter(status="picked_up").count()
    assert stock.reserved == 0 and stock.on_hand == 100 - dispensed
