"""Which pharmacy fulfils a prescription: nearest with every item, delivery coverage, and
the promised delivery date.

The search is one SQL query per step: active pharmacies inside a lat/lng bounding box,
joined to the stock lines that can cover their item (on_hand - reserved >= quantity),
grouped by pharmacy with HAVING count = number of items, ordered by haversine distance
and cut at `limit`. A box of half-width r km contains every pharmacy within r km, so the
results at most r km away are exactly the nearest ones; when fewer than `limit` of them
are, the box widens (BOX_STEPS_KM) and the last step has no box at all. Opening hours for
the chosen pharmacies come in one more query. Query count: steps used + 1, at most
len(BOX_STEPS_KM) + 2, whatever the number of pharmacies or items.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, FloatField, Q, QuerySet, Value, prefetch_related_objects
from django.db.models.functions import ASin, Cast, Cos, Least, Power, Radians, Sin, Sqrt
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.errors import DomainError, Kind
from pharmacy.hours import OpeningStatus, opening_status
from pharmacy.models import MAX_DELIVERY_RADIUS_KM, Pharmacy
from pharmacy.stock import items_normalise, stock_reserve

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LAT = 111.32
BOX_STEPS_KM = (2, 8, 30)
DEFAULT_LIMIT = 10
MAX_LIMIT = 100


@dataclass(frozen=True)
class Candidate:
    """A pharmacy as the dispatch search sees it: where it is from the patient, and whether
    it is open."""

    pharmacy: Pharmacy
    distance_km: float
    opening: OpeningStatus

    @property
    def open_now(self) -> bool:
        return self.opening.open_now


def coordinates_check(lat, lng) -> tuple[float, float]:
    """Parse and range-check a coordinate pair. Errors: 400 naming "lat" or "lng"."""
    checked = []
    for name, value, bound in (("lat", lat, 90), ("lng", lng, 180)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise DomainError(_("%(name)s must be a number of degrees.") % {"name": name}, code="invalid_coordinates",
                              field=name, kind=Kind.INVALID) from None
        if not math.isfinite(number) or not -bound <= number <= bound:
            raise DomainError(
                _("%(name)s must be between -%(bound)s and %(bound)s degrees.") % {"name": name, "bound": bound},
                code="invalid_coordinates", field=name, kind=Kind.INVALID,
            )
        checked.append(number)
    return checked[0], checked[1]


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((phi2 - phi1) / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _distance_sql(lat: float, lng: float):
    """Haversine distance in km from (lat, lng) to the row's coordinates, in SQL. Least()
    keeps rounding error from pushing asin() outside its domain."""
    a = Power(Sin(Radians(F("latitude") - Value(lat)) / 2), 2) + Value(math.cos(math.radians(lat))) * Cos(
        Radians(F("latitude"))
    ) * Power(Sin(Radians(F("longitude") - Value(lng)) / 2), 2)
    return Value(2 * EARTH_RADIUS_KM) * ASin(Least(Sqrt(a), Value(1.0)), output_field=FloatField())


def _box(lat: float, lng: float, half_km: float) -> Q | None:
    """The bounding box of half-width `half_km` around the point, or None where a box
    would wrap a pole or the antimeridian (then the search runs without one)."""
    dlat = half_km / KM_PER_DEGREE_LAT
    cos_lat = math.cos(math.radians(lat))
    if abs(lat) + dlat >= 90 or cos_lat < 0.01:
        return None
    dlng = half_km / (KM_PER_DEGREE_LAT * cos_lat)
    if abs(lng) + dlng >= 180:
        return None
    return Q(latitude__range=(lat - dlat, lat + dlat), longitude__range=(lng - dlng, lng + dlng))


def _with_every_item(queryset: QuerySet[Pharmacy], items: dict[int, int]) -> QuerySet[Pharmacy]:
    """Pharmacies whose stock covers every item: join their lines for these drugs, count per
    pharmacy the lines with enough available, keep the pharmacies where that count is the
    number of items.

    The join condition is a plain `drug_id IN (...)`, which the planner estimates well and
    answers from the (pharmacy, drug) index; the quantity check sits in the aggregate's
    FILTER, where a per-drug OR would otherwise spoil the row estimate and the plan.
    """
    covering = Q()
    for drug_id, quantity in items.items():
        covering |= Q(stock_lines__drug_id=drug_id, stock_lines__on_hand__gte=F("stock_lines__reserved") + quantity)
    return (
        queryset.filter(stock_lines__drug_id__in=list(items))
        .annotate(items_covered=Count("stock_lines__drug", filter=covering))
        .filter(items_covered=len(items))
    )


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise DomainError(_("limit must be between 1 and %(max)s.") % {"max": MAX_LIMIT}, code="invalid_limit", field="limit",
                          kind=Kind.INVALID)
    return limit


def _nearest(base: QuerySet[Pharmacy], *, lat: float, lng: float, limit: int) -> list[Candidate]:
    ranked = base.annotate(distance_km=_distance_sql(lat, lng)).order_by("distance_km", "id")
    found = None
    for half_km in BOX_STEPS_KM:
        box = _box(lat, lng, half_km)
        if box is None:
            break
        # Only rows within the box's inscribed circle are certainly nearer than anything
        # outside the box; the corners may be beaten by a pharmacy just past an edge.
        certain = [row for row in ranked.filter(box)[:limit] if row.distance_km <= half_km]
        if len(certain) == limit:
            found = certain
            break
    if found is None:
        found = list(ranked[:limit])
    return _candidates(found)


def _candidates(pharmacies: list[Pharmacy]) -> list[Candidate]:
    prefetch_related_objects(pharmacies, "opening_hours")
    now = timezone.now()
    return [
        Candidate(pharmacy=p, distance_km=round(p.distance_km, 3), opening=opening_status(p.opening_hours.all(), now))
        for p in pharmacies
    ]


def pharmacies_with_stock(*, items: Mapping[int, int], lat, lng, limit: int = DEFAULT_LIMIT) -> list[Candidate]:
    """Active pharmacies with every item available (on_hand - reserved >= quantity), nearest
    first, each with its distance in km and whether it is open now or when it next opens.

    Errors (400): coordinates out of range (field "lat"/"lng"), bad items, bad limit.
    """
    lat, lng = coordinates_check(lat, lng)
    items = items_normalise(items)
    base = _with_every_item(Pharmacy.objects.filter(active=True), items)
    return _nearest(base, lat=lat, lng=lng, limit=_limit(limit))


def pharmacies_near(*, lat, lng, limit: int = DEFAULT_LIMIT) -> list[Candidate]:
    """The public directory: active pharmacies nearest first, with distance and opening,
    and nothing about stock. Errors (400): coordinates out of range, bad limit."""
    lat, lng = coordinates_check(lat, lng)
    return _nearest(Pharmacy.objects.filter(active=True), lat=lat, lng=lng, limit=_limit(limit))


def delivery_candidates(*, items: Mapping[int, int], lat, lng, limit: int = DEFAULT_LIMIT) -> list[Candidate]:
    """Delivering pharmacies whose radius covers (lat, lng) and which have every item,
    nearest first. No radius exceeds MAX_DELIVERY_RADIUS_KM, so one box of that size holds
    every pharmacy that could cover the address: one query plus one for opening hours.

    An empty list means nobody can deliver everything there; `delivery_area_covered` tells
    "outside every delivery radius" apart from "nobody has the stock".
    Errors (400): coordinates out of range, bad items, bad limit.
    """
    lat, lng = coordinates_check(lat, lng)
    items = items_normalise(items)
    base = _with_every_item(_delivering_within_reach(lat, lng), items)
    return _candidates(list(base.order_by("distance_km", "id")[: _limit(limit)]))


def _delivering_within_reach(lat: float, lng: float) -> QuerySet[Pharmacy]:
    queryset = Pharmacy.objects.filter(active=True, delivers=True)
    box = _box(lat, lng, MAX_DELIVERY_RADIUS_KM)
    if box is not None:
        queryset = queryset.filter(box)
    return queryset.annotate(distance_km=_distance_sql(lat, lng)).filter(
        distance_km__lte=Cast("delivery_radius_km", FloatField())
    )


def delivery_area_covered(*, lat, lng) -> bool:
    """Whether any active delivering pharmacy's radius covers (lat, lng), stock aside."""
    lat, lng = coordinates_check(lat, lng)
    return _delivering_within_reach(lat, lng).exists()


def promised_delivery_date(*, pharmacy: Pharmacy, at: datetime | None = None) -> date:
    """The day a delivery ordered at `at` (default now) arrives: the next day when ordered
    before the pharmacy's cut-off (local time), otherwise the day after.
    Errors: the pharmacy does not deliver (422)."""
    if not pharmacy.delivers:
        raise DomainError(_("%(pharmacy)s does not deliver.") % {"pharmacy": pharmacy.name}, code="does_not_deliver",
                          kind=Kind.UNPROCESSABLE)
    local = timezone.localtime(at or timezone.now())
    days = 1 if local.time() < pharmacy.delivery_cutoff else 2
    return local.date() + timedelta(days=days)


def dispatch_reserve(*, candidates: Iterable[Candidate], items: Mapping[int, int], by=None, reason: str = "reserved") -> Candidate:
    """Reserve every item at the first candidate that still has them, trying the next one
    when a concurrent order took the stock in the meantime (candidates come from a read
    that may be stale by the time we write).

    Errors: DomainError "no_pharmacy_has_stock" (409) when no candidate can; nothing is
    reserved anywhere then.
    """
    items = items_normalise(items)
    for candidate in candidates:
        try:
            with transaction.atomic():
                stock_reserve(pharmacy=candidate.pharmacy, items=items, by=by, reason=reason)
        except DomainError as error:
            if error.code != "out_of_stock":
                raise
            continue
        return candidate
    raise DomainError(
        _("No pharmacy has every item of this prescription in stock right now."),
        code="no_pharmacy_has_stock", field="items",
    )
