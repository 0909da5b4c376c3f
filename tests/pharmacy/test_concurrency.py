"""Real threads, separate connections, PostgreSQL: concurrent reservations never oversell."""

import threading

import pytest
from django.db import connection, connections

from cloudhospital.errors import DomainError
from pharmacy import dispatch
from pharmacy.models import Stock
from pharmacy.stock import stock_reserve
from tests.factories import DrugFactory, PharmacyFactory, StockFactory
from tests.pharmacy.conftest import HOME, north_of_home

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises every writer, so it cannot express this race; run with DATABASE_URL=postgres://...",
    ),
]


def race(worker, count: int) -> list:
    """Run `worker(i)` in `count` threads released together; return each one's outcome."""
    barrier = threading.Barrier(count)
    outcomes: list = [None] * count

    def run(i):
        try:
            barrier.wait()
            outcomes[i] = worker(i)
        except Exception as error:  # noqa: BLE001 - the outcome is what the test checks
            outcomes[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_concurrent_reservations_never_exceed_stock():
    pharmacy = PharmacyFactory()
    drugs = [DrugFactory(), DrugFactory(), DrugFactory()]
    # Enough of the first two for everyone, the third only for 7 of 24 orders.
    for drug, on_hand in zip(drugs, (100, 100, 7)):
        StockFactory(pharmacy=pharmacy, drug=drug, on_hand=on_hand)
    # Half the orders list the items in reverse; rows are still locked in drug-id order,
    # so no deadlock aborts anyone.
    forward = {drug.pk: 1 for drug in drugs}
    backward = dict(reversed(list(forward.items())))

    outcomes = race(lambda i: stock_reserve(pharmacy=pharmacy, items=forward if i % 2 else backward), 24)

    won = [o for o in outcomes if isinstance(o, dict)]
    lost = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(won) == 7 and len(lost) == 17, outcomes
    assert {error.code for error in lost} == {"out_of_stock"}
    reserved = dict(Stock.objects.filter(pharmacy=pharmacy).values_list("drug_id", "reserved"))
    # All or nothing: the losers left no reservation on the drugs they did get.
    assert reserved == {drugs[0].pk: 7, drugs[1].pk: 7, drugs[2].pk: 7}


def test_concurrent_orders_are_routed_to_the_next_pharmacy_or_refused_clearly():
    drug = DrugFactory()
    near = PharmacyFactory(latitude=north_of_home(1)[0], longitude=HOME[1])
    far = PharmacyFactory(latitude=north_of_home(3)[0], longitude=HOME[1])
    StockFactory(pharmacy=near, drug=drug, on_hand=4)
    StockFactory(pharmacy=far, drug=drug, on_hand=3)
    items = {drug.pk: 1}

    def order(_):
        candidates = dispatch.pharmacies_with_stock(items=items, lat=HOME[0], lng=HOME[1])
        return dispatch.dispatch_reserve(candidates=candidates, items=items).pharmacy.pk

    outcomes = race(order, 12)

    served = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert sorted(served) == sorted([near.pk] * 4 + [far.pk] * 3), outcomes
    assert len(refused) == 5 and {error.code for error in refused} == {"no_pharmacy_has_stock"}
    assert [(row.on_hand, row.reserved) for row in Stock.objects.order_by("pharmacy__latitude")] == [(4, 4), (3, 3)]
