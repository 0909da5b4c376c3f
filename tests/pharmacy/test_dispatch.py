from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from cloudhospital.errors import DomainError
from pharmacy import dispatch
from pharmacy.models import Stock
from tests.factories import PharmacyFactory, StockFactory
from tests.pharmacy.conftest import HOME, north_of_home

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def stocked(drugs, *, km: float, quantity: int = 10, **kwargs):
    lat, lng = north_of_home(km)
    pharmacy = PharmacyFactory(latitude=lat, longitude=lng, **kwargs)
    for drug in drugs:
        StockFactory(pharmacy=pharmacy, drug=drug, on_hand=quantity)
    return pharmacy


def items_of(drugs, quantity=2):
    return {drug.pk: quantity for drug in drugs}


def test_haversine_matches_a_known_distance():
    # One degree of latitude is about 111.2 km anywhere.
    assert dispatch.haversine_km(29.0, 121.5, 30.0, 121.5) == pytest.approx(111.2, abs=0.2)


def test_pharmacies_with_stock_are_nearest_first_with_distance(drugs):
    far, near, middle = stocked(drugs, km=4.0), stocked(drugs, km=0.5), stocked(drugs, km=2.0)
    found = dispatch.pharmacies_with_stock(items=items_of(drugs), lat=HOME[0], lng=HOME[1])
    assert [c.pharmacy for c in found] == [near, middle, far]
    assert [round(c.distance_km, 1) for c in found] == [0.5, 2.0, 4.0]


def test_pharmacies_with_stock_leave_out_a_pharmacy_missing_one_item(drugs):
    complete = stocked(drugs, km=3)
    stocked(drugs[:2], km=1)
    found = dispatch.pharmacies_with_stock(items=items_of(drugs), lat=HOME[0], lng=HOME[1])
    assert [c.pharmacy for c in found] == [complete]


def test_pharmacies_with_stock_count_reserved_units_as_gone(drugs):
    complete = stocked(drugs, km=3)
    short = stocked(drugs, km=1)
    Stock.objects.filter(pharmacy=short, drug=drugs[1]).update(reserved=9)
    found = dispatch.pharmacies_with_stock(items=items_of(drugs), lat=HOME[0], lng=HOME[1])
    assert [c.pharmacy for c in found] == [complete]
    assert [c.pharmacy for c in dispatch.pharmacies_with_stock(items={drugs[1].pk: 1}, lat=HOME[0], lng=HOME[1])] == [
        short, complete,
    ]


def test_pharmacies_with_stock_leave_out_inactive_pharmacies(drugs):
    stocked(drugs, km=1, active=False)
    assert dispatch.pharmacies_with_stock(items=items_of(drugs), lat=HOME[0], lng=HOME[1]) == []


def test_pharmacies_with_stock_widen_the_search_to_far_pharmacies(drugs, django_assert_max_num_queries):
    """Nothing within the first boxes: the answer still comes, nearest first, in a bounded
    number of queries (each box, the unbounded search, the opening hours)."""
    hangzhou = stocked(drugs, km=150)
    shanghai = stocked(drugs, km=30)
    with django_assert_max_num_queries(len(dispatch.BOX_STEPS_KM) + 2):
        found = dispatch.pharmacies_with_stock(items=items_of(drugs), lat=HOME[0], lng=HOME[1])
    assert [c.pharmacy for c in found] == [shanghai, hangzhou]


def test_pharmacies_with_stock_do_not_let_a_box_corner_beat_a_nearer_pharmacy(drugs):
    """A pharmacy in a corner of the first search box is farther than one just outside the
    box edge; the search must widen instead of trusting the corner."""
    half = dispatch.BOX_STEPS_KM[0]
    lat, lng = HOME
    corner = PharmacyFactory(latitude=lat + 0.9 * half / 111.2, longitude=lng + 0.9 * half / (111.32 * 0.867))
    outside_but_nearer = PharmacyFactory(latitude=lat - 1.1 * half / 111.2, longitude=lng)
    for pharmacy in (corner, outside_but_nearer):
        for drug in drugs:
            StockFactory(pharmacy=pharmacy, drug=drug)
    found = dispatch.pharmacies_with_stock(items=items_of(drugs), lat=lat, lng=lng, limit=1)
    assert [c.pharmacy for c in found] == [outside_but_nearer]
    assert found[0].distance_km == pytest.approx(1.1 * half, rel=0.01)


def test_pharmacies_with_stock_use_a_constant_number_of_queries(drugs, django_assert_num_queries):
    for km in range(1, 13):
        stocked(drugs, km=km * 0.15)
    with django_assert_num_queries(2):
        found = dispatch.pharmacies_with_stock(items=items_of(drugs), lat=HOME[0], lng=HOME[1], limit=10)
    assert len(found) == 10


def test_pharmacies_with_stock_say_open_now_or_next_opening(drugs):
    open_one = stocked(drugs, km=1)
    closed_one = stocked(drugs, km=2, hours=[])
    found = {c.pharmacy: c for c in dispatch.pharmacies_with_stock(items=items_of(drugs), lat=HOME[0], lng=HOME[1])}
    assert found[closed_one].open_now is False and found[closed_one].opening.next_opening is None
    assert found[open_one].opening.open_now or found[open_one].opening.next_opening is not None


@pytest.mark.parametrize(
    ("lat", "lng", "field"),
    [(91, 121.5, "lat"), (-90.5, 121.5, "lat"), (29.8, 181, "lng"), ("north", 121.5, "lat"), (29.8, None, "lng"), ("nan", 121.5, "lat")],
)
def test_coordinates_out_of_range_are_refused_naming_the_field(drugs, lat, lng, field):
    with pytest.raises(DomainError) as error:
        dispatch.pharmacies_with_stock(items=items_of(drugs), lat=lat, lng=lng)
    assert error.value.kind == "invalid" and error.value.field == field


def test_delivery_candidates_need_the_radius_to_cover_the_address(drugs):
    covering = stocked(drugs, km=6, delivers=True, delivery_radius_km=8)
    stocked(drugs, km=3, delivers=True, delivery_radius_km=2)  # nearer, but too small a radius
    stocked(drugs, km=1)  # nearest, does not deliver
    found = dispatch.delivery_candidates(items=items_of(drugs), lat=HOME[0], lng=HOME[1])
    assert [c.pharmacy for c in found] == [covering]


def test_delivery_candidates_are_nearest_first_and_need_every_item(drugs):
    far = stocked(drugs, km=7, delivers=True, delivery_radius_km=10)
    near = stocked(drugs, km=2, delivers=True, delivery_radius_km=10)
    stocked(drugs[:1], km=1, delivers=True, delivery_radius_km=10)
    found = dispatch.delivery_candidates(items=items_of(drugs), lat=HOME[0], lng=HOME[1])
    assert [c.pharmacy for c in found] == [near, far]


def test_delivery_area_covered_tells_outside_every_radius_from_no_stock(drugs):
    PharmacyFactory(latitude=north_of_home(4)[0], longitude=HOME[1], delivers=True, delivery_radius_km=5)
    assert dispatch.delivery_candidates(items=items_of(drugs), lat=HOME[0], lng=HOME[1]) == []
    assert dispatch.delivery_area_covered(lat=HOME[0], lng=HOME[1]) is True
    far_away = north_of_home(20)
    assert dispatch.delivery_area_covered(lat=far_away[0], lng=far_away[1]) is False


def test_delivery_candidates_use_a_constant_number_of_queries(drugs, django_assert_num_queries):
    for km in range(1, 8):
        stocked(drugs, km=km, delivers=True, delivery_radius_km=10)
    with django_assert_num_queries(2):
        assert len(dispatch.delivery_candidates(items=items_of(drugs), lat=HOME[0], lng=HOME[1])) == 7


@pytest.mark.parametrize(
    ("ordered_at", "promised"),
    [
        (datetime(2026, 3, 2, 9, 0), (2026, 3, 3)),
        (datetime(2026, 3, 2, 17, 59), (2026, 3, 3)),
        (datetime(2026, 3, 2, 18, 0), (2026, 3, 4)),
        (datetime(2026, 3, 2, 23, 30), (2026, 3, 4)),
        (datetime(2026, 3, 2, 0, 5), (2026, 3, 3)),
    ],
)
def test_promised_delivery_date_is_next_day_before_the_cutoff(ordered_at, promised):
    pharmacy = PharmacyFactory(delivers=True, delivery_radius_km=8, delivery_cutoff=time(18, 0))
    at = ordered_at.replace(tzinfo=SHANGHAI)
    assert dispatch.promised_delivery_date(pharmacy=pharmacy, at=at).timetuple()[:3] == promised


def test_promised_delivery_date_uses_shanghai_time_for_utc_input():
    pharmacy = PharmacyFactory(delivers=True, delivery_radius_km=8, delivery_cutoff=time(18, 0))
    # 09:30 UTC is 17:30 in Shanghai: before the cut-off.
    at = datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("UTC"))
    assert dispatch.promised_delivery_date(pharmacy=pharmacy, at=at).isoformat() == "2026-03-03"


def test_promised_delivery_date_refuses_a_pharmacy_that_does_not_deliver():
    with pytest.raises(DomainError) as error:
        dispatch.promised_delivery_date(pharmacy=PharmacyFactory(delivers=False))
    assert error.value.code == "does_not_deliver" and error.value.kind == "unprocessable"


def test_dispatch_reserve_moves_on_when_the_first_candidate_sold_out(drugs):
    first, second = stocked(drugs, km=1, quantity=2), stocked(drugs, km=2, quantity=2)
    candidates = dispatch.pharmacies_with_stock(items=items_of(drugs), lat=HOME[0], lng=HOME[1])
    Stock.objects.filter(pharmacy=first, drug=drugs[2]).update(reserved=1)  # a concurrent order got there first
    chosen = dispatch.dispatch_reserve(candidates=candidates, items=items_of(drugs))
    assert chosen.pharmacy == second
    assert list(Stock.objects.filter(pharmacy=first).order_by("drug_id").values_list("reserved", flat=True)) == [0, 0, 1]
    assert set(Stock.objects.filter(pharmacy=second).values_list("reserved", flat=True)) == {2}


def test_dispatch_reserve_says_clearly_when_nobody_has_it(drugs):
    only = stocked(drugs, km=1, quantity=2)
    candidates = dispatch.pharmacies_with_stock(items=items_of(drugs), lat=HOME[0], lng=HOME[1])
    Stock.objects.filter(pharmacy=only, drug=drugs[0]).update(on_hand=1)
    with pytest.raises(DomainError) as error:
        dispatch.dispatch_reserve(candidates=candidates, items=items_of(drugs))
    assert error.value.code == "no_pharmacy_has_stock" and error.value.kind == "conflict"
    assert set(Stock.objects.filter(pharmacy=only).values_list("reserved", flat=True)) == {0}


def test_pharmacies_near_lists_active_pharmacies_without_stock_filter():
    b = PharmacyFactory(latitude=north_of_home(2)[0], longitude=HOME[1])
    a = PharmacyFactory(latitude=north_of_home(1)[0], longitude=HOME[1])
    PharmacyFactory(latitude=HOME[0], longitude=HOME[1], active=False)
    assert [c.pharmacy for c in dispatch.pharmacies_near(lat=HOME[0], lng=HOME[1])] == [a, b]
