import pytest

from cloudhospital.permissions import SYSTEM

from cloudhospital.errors import DomainError
from pharmacy.models import Stock
from pharmacy.stock import LineStatus, stock_consume, stock_release, stock_reserve, stock_upsert_bulk
from tests.factories import DrugFactory, PharmacyFactory, PharmacyStaffFactory, StockFactory, UserFactory

pytestmark = pytest.mark.django_db


def _stock(pharmacy, drug) -> Stock:
    return Stock.objects.get(pharmacy=pharmacy, drug=drug)


def test_stock_reserve_holds_every_item(drugs):
    pharmacy = PharmacyFactory()
    for drug in drugs:
        StockFactory(pharmacy=pharmacy, drug=drug, on_hand=10)
    stock_reserve(pharmacy=pharmacy, items={drugs[0].pk: 3, drugs[1].pk: 10})
    assert (_stock(pharmacy, drugs[0]).reserved, _stock(pharmacy, drugs[0]).available) == (3, 7)
    assert _stock(pharmacy, drugs[1]).available == 0
    assert _stock(pharmacy, drugs[2]).reserved == 0


def test_stock_reserve_is_all_or_nothing_when_one_item_is_short(drugs):
    pharmacy = PharmacyFactory()
    StockFactory(pharmacy=pharmacy, drug=drugs[0], on_hand=10)
    StockFactory(pharmacy=pharmacy, drug=drugs[1], on_hand=10, reserved=8)
    StockFactory(pharmacy=pharmacy, drug=drugs[2], on_hand=10)
    with pytest.raises(DomainError) as error:
        stock_reserve(pharmacy=pharmacy, items={drugs[0].pk: 2, drugs[1].pk: 3, drugs[2].pk: 1})
    assert error.value.code == "out_of_stock" and error.value.kind == "conflict"
    assert "Valsartan" in error.value.message
    assert [_stock(pharmacy, drug).reserved for drug in drugs] == [0, 8, 0]


def test_stock_reserve_refuses_a_drug_the_pharmacy_does_not_stock(drugs):
    pharmacy = PharmacyFactory()
    StockFactory(pharmacy=pharmacy, drug=drugs[0], on_hand=10)
    with pytest.raises(DomainError) as error:
        stock_reserve(pharmacy=pharmacy, items={drugs[0].pk: 1, drugs[2].pk: 1})
    assert error.value.code == "out_of_stock" and "Metformin" in error.value.message
    assert _stock(pharmacy, drugs[0]).reserved == 0


def test_stock_reserve_never_exceeds_on_hand_over_repeated_orders(drugs):
    pharmacy = PharmacyFactory()
    StockFactory(pharmacy=pharmacy, drug=drugs[0], on_hand=7)
    served = 0
    for _ in range(10):
        try:
            stock_reserve(pharmacy=pharmacy, items={drugs[0].pk: 2})
            served += 1
        except DomainError:
            pass
    row = _stock(pharmacy, drugs[0])
    assert served == 3 and row.reserved == 6 and row.available == 1


def test_stock_reserve_only_touches_the_given_pharmacy(drugs):
    mine, other = PharmacyFactory(), PharmacyFactory()
    StockFactory(pharmacy=other, drug=drugs[0], on_hand=10)
    with pytest.raises(DomainError):
        stock_reserve(pharmacy=mine, items={drugs[0].pk: 1})
    assert _stock(other, drugs[0]).reserved == 0


@pytest.mark.parametrize("items", [{}, {1: 0}, {1: -2}, {1: 1.5}, {"AML5": 1}, [(1, 1)]])
def test_stock_reserve_refuses_malformed_items_with_400(items):
    with pytest.raises(DomainError) as error:
        stock_reserve(pharmacy=PharmacyFactory(), items=items)
    assert error.value.kind == "invalid" and error.value.field == "items"


def test_stock_release_gives_back_reserved_units(drugs):
    pharmacy = PharmacyFactory()
    StockFactory(pharmacy=pharmacy, drug=drugs[0], on_hand=10, reserved=4)
    stock_release(pharmacy=pharmacy, items={drugs[0].pk: 3})
    assert _stock(pharmacy, drugs[0]).reserved == 1


def test_stock_release_refuses_more_than_reserved_and_changes_nothing(drugs):
    pharmacy = PharmacyFactory()
    StockFactory(pharmacy=pharmacy, drug=drugs[0], on_hand=10, reserved=4)
    StockFactory(pharmacy=pharmacy, drug=drugs[1], on_hand=10, reserved=1)
    with pytest.raises(DomainError) as error:
        stock_release(pharmacy=pharmacy, items={drugs[0].pk: 2, drugs[1].pk: 2})
    assert error.value.code == "release_exceeds_reserved"
    assert (_stock(pharmacy, drugs[0]).reserved, _stock(pharmacy, drugs[1]).reserved) == (4, 1)


def test_stock_consume_takes_reserved_units_off_the_shelf(drugs):
    pharmacy = PharmacyFactory()
    StockFactory(pharmacy=pharmacy, drug=drugs[0], on_hand=10, reserved=4)
    stock_consume(pharmacy=pharmacy, items={drugs[0].pk: 4})
    row = _stock(pharmacy, drugs[0])
    assert (row.on_hand, row.reserved) == (6, 0)


def test_stock_consume_refuses_units_that_were_not_reserved(drugs):
    pharmacy = PharmacyFactory()
    StockFactory(pharmacy=pharmacy, drug=drugs[0], on_hand=10, reserved=1)
    with pytest.raises(DomainError) as error:
        stock_consume(pharmacy=pharmacy, items={drugs[0].pk: 2})
    assert error.value.code == "consume_exceeds_reserved"
    row = _stock(pharmacy, drugs[0])
    assert (row.on_hand, row.reserved) == (10, 1)


def test_stock_movements_are_recorded_in_history_with_who_and_why(drugs):
    pharmacy = PharmacyFactory()
    pharmacist = UserFactory(role="pharmacist")
    row = StockFactory(pharmacy=pharmacy, drug=drugs[0], on_hand=10)
    stock_reserve(pharmacy=pharmacy, items={drugs[0].pk: 2}, reason="order 1 placed")
    stock_consume(pharmacy=pharmacy, items={drugs[0].pk: 2}, by=pharmacist, reason="order 1 picked up")
    latest = row.history.order_by("-history_id")[:2]
    assert [(h.on_hand, h.reserved, h.history_change_reason) for h in latest] == [
        (8, 0, "order 1 picked up"),
        (10, 2, "order 1 placed"),
    ]
    assert latest[0].history_user == pharmacist


def test_stock_upsert_bulk_applies_known_codes_and_reports_unknown_ones_per_line(drugs):
    pharmacy = PharmacyFactory()
    StockFactory(pharmacy=pharmacy, drug=drugs[0], on_hand=5)
    results = stock_upsert_bulk(pharmacy=pharmacy, lines=[("AML5", 40), ("NOPE1", 3), ("VAL80", 12)], by=SYSTEM)
    assert [(r.line, r.drug_code, r.status) for r in results] == [
        (0, "AML5", LineStatus.APPLIED),
        (1, "NOPE1", LineStatus.UNKNOWN_DRUG_CODE),
        (2, "VAL80", LineStatus.APPLIED),
    ]
    assert _stock(pharmacy, drugs[0]).on_hand == 40
    assert _stock(pharmacy, drugs[1]).on_hand == 12
    assert not Stock.objects.filter(pharmacy=pharmacy, drug=drugs[2]).exists()


def test_stock_upsert_bulk_refuses_a_line_below_what_orders_hold(drugs):
    pharmacy = PharmacyFactory()
    StockFactory(pharmacy=pharmacy, drug=drugs[0], on_hand=10, reserved=6)
    StockFactory(pharmacy=pharmacy, drug=drugs[1], on_hand=10)
    results = stock_upsert_bulk(pharmacy=pharmacy, lines=[("AML5", 5), ("VAL80", 0), ("AML5", 20)], by=SYSTEM)
    assert [r.status for r in results] == [LineStatus.BELOW_RESERVED, LineStatus.APPLIED, LineStatus.DUPLICATE]
    assert results[0].reserved == 6
    assert (_stock(pharmacy, drugs[0]).on_hand, _stock(pharmacy, drugs[1]).on_hand) == (10, 0)


@pytest.mark.parametrize("lines", [[], [("AML5", -1)], [("AML5", "12")], [("", 3)]])
def test_stock_upsert_bulk_refuses_malformed_uploads_and_applies_nothing(drugs, lines):
    pharmacy = PharmacyFactory()
    with pytest.raises(DomainError) as error:
        stock_upsert_bulk(pharmacy=pharmacy, lines=[("VAL80", 9), *lines] if lines else [], by=SYSTEM)
    assert error.value.kind == "invalid"
    assert not Stock.objects.filter(pharmacy=pharmacy).exists()


def test_stock_upsert_bulk_records_history(drugs):
    pharmacy = PharmacyFactory()
    pharmacist = PharmacyStaffFactory(pharmacy=pharmacy).user
    stock_upsert_bulk(pharmacy=pharmacy, lines=[("AML5", 30)], by=pharmacist)
    stock_upsert_bulk(pharmacy=pharmacy, lines=[("AML5", 25)], by=pharmacist)
    history = _stock(pharmacy, drugs[0]).history.order_by("history_id")
    assert [(h.history_type, h.on_hand, h.history_user) for h in history] == [("+", 30, pharmacist), ("~", 25, pharmacist)]


def test_stock_upsert_bulk_query_count_does_not_grow_with_lines(django_assert_max_num_queries):
    pharmacy = PharmacyFactory()
    codes = [DrugFactory().code for _ in range(30)]
    stock_upsert_bulk(pharmacy=pharmacy, lines=[(code, 5) for code in codes[:15]], by=SYSTEM)
    with django_assert_max_num_queries(10):
        stock_upsert_bulk(pharmacy=pharmacy, lines=[(code, 9) for code in codes], by=SYSTEM)
    assert Stock.objects.filter(pharmacy=pharmacy, on_hand=9).count() == 30


def test_database_refuses_reserved_above_on_hand(drugs):
    from django.db import IntegrityError, transaction

    row = StockFactory(drug=drugs[0], on_hand=3)
    row.reserved = 4
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()
