"""Stock: a pharmacy's bulk upsert, and the reserve / release / consume verbs of orders.

Locking, in one place:
- reserve, release and consume are conditional UPDATEs (`reserved = reserved + q WHERE
  on_hand - reserved >= q`) with F() expressions. PostgreSQL takes the row lock as part of
  the UPDATE and, when a concurrent transaction held it, re-checks the WHERE against the
  committed row before writing. Two reservations can therefore never both see the same
  units as free, without a SELECT ... FOR UPDATE round trip first. A line whose UPDATE
  matches no row failed its condition; the enclosing transaction rolls back the lines
  already reserved, so a reservation is all or nothing.
- Multi-line writes touch rows in ascending drug id. Two orders for {A, B} and {B, A} then
  lock A before B in both transactions and cannot deadlock.
- The bulk upsert locks the pharmacy row (serialising one pharmacy's uploads, so two of
  them cannot both insert the same new drug) and then its stock rows (so a reservation
  cannot slip in between the "not below reserved" check and the write).
- The database's CHECK (0 <= reserved <= on_hand) is the last line: a bug cannot oversell.

`items` everywhere is a mapping drug id -> quantity (positive integers), the shape a
prescription's lines reduce to.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from cloudhospital.errors import DomainError, Kind
from cloudhospital.permissions import require
from pharmacy.models import Pharmacy, Stock
from prescriptions.models import Drug

MAX_UPSERT_LINES = 2000


def items_normalise(items: Mapping[int, int]) -> dict[int, int]:
    """Check an items mapping (drug id -> quantity) and return it sorted by drug id.
    Errors: empty, a non-integer id or a quantity below 1 (400, field "items")."""
    if not isinstance(items, Mapping) or not items:
        raise DomainError(_("At least one item (drug and quantity) is needed."), code="no_items", field="items", kind=Kind.INVALID)
    normalised = {}
    for drug_id, quantity in items.items():
        if isinstance(drug_id, bool) or not isinstance(drug_id, int) or isinstance(quantity, bool) or not isinstance(quantity, int):
            raise DomainError(_("Items map drug ids to whole quantities."), code="invalid_items", field="items", kind=Kind.INVALID)
        if quantity < 1:
            raise DomainError(_("Quantity for drug %(drug)s must be at least 1.") % {"drug": drug_id}, code="invalid_quantity",
                              field="items", kind=Kind.INVALID)
        normalised[drug_id] = quantity
    return dict(sorted(normalised.items()))


def _history_user(by):
    return by if getattr(by, "pk", None) else None


def _write_history(pharmacy: Pharmacy, drug_ids: Iterable[int], *, by, reason: str) -> None:
    """Conditional UPDATEs bypass simple-history; record the rows' new state explicitly so
    every movement of a pharmacy's stock stays auditable."""
    rows = list(Stock.objects.filter(pharmacy=pharmacy, drug_id__in=list(drug_ids)))
    Stock.history.bulk_history_create(
        rows, update=True, default_user=_history_user(by), default_change_reason=reason[:100]
    )


def _out_of_stock(drug_id: int, *, pharmacy: Pharmacy, needed: int) -> DomainError:
    drug = Drug.objects.filter(pk=drug_id).first()
    label = f"{drug.display_name} {drug.strength:g}{drug.strength_unit}" if drug else _("drug %(drug)s") % {"drug": drug_id}
    return DomainError(
        _("%(pharmacy)s does not have %(needed)s of %(drug)s available.")
        % {"pharmacy": pharmacy.name, "needed": needed, "drug": label}, code="out_of_stock", field="items",
    )


def stock_reserve(*, pharmacy: Pharmacy, items: Mapping[int, int], by=None, reason: str = "reserved") -> dict[int, int]:
    """Reserve every item at `pharmacy`, all or nothing.

    Each line must have on_hand - reserved >= quantity. If any line falls short, nothing is
    reserved and DomainError "out_of_stock" (409) names the first drug that fell short.
    Safe under concurrency (see the module docstring). Returns the reserved items.
    """
    items = items_normalise(items)
    now = timezone.now()
    with transaction.atomic():
        for drug_id, quantity in items.items():
            updated = Stock.objects.filter(
                pharmacy=pharmacy, drug_id=drug_id, on_hand__gte=F("reserved") + quantity
            ).update(reserved=F("reserved") + quantity, updated_at=now)
            if updated != 1:
                # Raising inside atomic() rolls back the lines reserved so far.
                raise _out_of_stock(drug_id, pharmacy=pharmacy, needed=quantity)
        _write_history(pharmacy, items, by=by, reason=reason)
    return items


def stock_release(*, pharmacy: Pharmacy, items: Mapping[int, int], by=None, reason: str = "released") -> dict[int, int]:
    """Give back a reservation (order rejected, reassigned or cancelled).

    Each line must have at least `quantity` reserved; otherwise nothing is released and
    DomainError "release_exceeds_reserved" (409) is raised, which means the caller is
    releasing something it never reserved.
    """
    items = items_normalise(items)
    now = timezone.now()
    with transaction.atomic():
        for drug_id, quantity in items.items():
            updated = Stock.objects.filter(pharmacy=pharmacy, drug_id=drug_id, reserved__gte=quantity).update(
                reserved=F("reserved") - quantity, updated_at=now
            )
            if updated != 1:
                raise DomainError(
                    _("Cannot release %(quantity)s of drug %(drug)s: not that much is reserved.")
                    % {"quantity": quantity, "drug": drug_id},
                    code="release_exceeds_reserved", field="items",
                )
        _write_history(pharmacy, items, by=by, reason=reason)
    return items


def stock_consume(*, pharmacy: Pharmacy, items: Mapping[int, int], by=None, reason: str = "dispensed") -> dict[int, int]:
    """Dispense reserved stock: on_hand and reserved both drop by `quantity`.

    Only reserved units are consumed (a dispense always follows a reservation); a line
    with less reserved raises DomainError "consume_exceeds_reserved" (409) and nothing
    changes.
    """
    items = items_normalise(items)
    now = timezone.now()
    with transaction.atomic():
        for drug_id, quantity in items.items():
            updated = Stock.objects.filter(pharmacy=pharmacy, drug_id=drug_id, reserved__gte=quantity).update(
                on_hand=F("on_hand") - quantity, reserved=F("reserved") - quantity, updated_at=now
            )
            if updated != 1:
                raise DomainError(
                    _("Cannot dispense %(quantity)s of drug %(drug)s: not that much is reserved.")
                    % {"quantity": quantity, "drug": drug_id},
                    code="consume_exceeds_reserved", field="items",
                )
        _write_history(pharmacy, items, by=by, reason=reason)
    return items


class LineStatus:
    APPLIED = "applied"
    UNKNOWN_DRUG_CODE = "unknown_drug_code"
    BELOW_RESERVED = "below_reserved"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class LineResult:
    line: int
    drug_code: str
    status: str
    message: str = ""
    on_hand: int | None = None
    reserved: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == LineStatus.APPLIED


def stock_upsert_bulk(*, pharmacy: Pharmacy, lines: Iterable[tuple[str, int]], by,
                      reason: str = "stock upload") -> list[LineResult]:
    """Set the quantity on hand of many drugs at once, by drug code.

    Each line is judged alone and reported: applied; unknown drug code; below reserved
    (on hand may not drop under what orders already hold); duplicate (a code repeated in
    the same upload: the first occurrence counts). The valid lines are applied even when
    others are refused. Errors for the whole request (400, nothing applied): no lines,
    too many lines, a quantity that is not a whole number >= 0. Only the pharmacy itself (its
    API token or staff) or the hospital's administrators (403). `reason` goes into the
    stock rows' history (the counter's adjustments say why; an upload says "stock upload").
    """
    require("pharmacy.set_stock", by, pharmacy, message=_("Only this pharmacy or the hospital's administrators may set its stock."))
    lines = list(lines)
    if not lines:
        raise DomainError(_("Send at least one stock line."), code="no_lines", field="lines", kind=Kind.INVALID)
    if len(lines) > MAX_UPSERT_LINES:
        raise DomainError(
            _("At most %(max)s lines per upload.") % {"max": MAX_UPSERT_LINES}, code="too_many_lines", field="lines",
            kind=Kind.INVALID,
        )
    for index, (code, quantity) in enumerate(lines):
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise DomainError(
                _("Line %(line)s: quantity must be a whole number, 0 or more.") % {"line": index},
                code="invalid_quantity", field="lines", kind=Kind.INVALID,
            )
        if not isinstance(code, str) or not code.strip():
            raise DomainError(_("Line %(line)s: drug_code is required.") % {"line": index}, code="invalid_drug_code",
                              field="lines", kind=Kind.INVALID)

    codes = {code.strip() for code, _quantity in lines}
    now = timezone.now()
    history_user = _history_user(by)
    results: list[LineResult] = []
    with transaction.atomic():
        Pharmacy.objects.select_for_update().filter(pk=pharmacy.pk).first()
        drugs = {drug.code: drug for drug in Drug.objects.filter(code__in=codes)}
        existing = {
            row.drug_id: row
            for row in Stock.objects.select_for_update()
            .filter(pharmacy=pharmacy, drug__code__in=codes)
            .order_by("drug_id")
        }
        to_create, to_update, seen = [], [], set()
        for index, (raw_code, quantity) in enumerate(lines):
            code = raw_code.strip()
            drug = drugs.get(code)
            if code in seen:
                results.append(LineResult(index, code, LineStatus.DUPLICATE, "Repeated drug code; the first line counts."))
                continue
            seen.add(code)
            if drug is None:
                results.append(LineResult(index, code, LineStatus.UNKNOWN_DRUG_CODE, "No drug in the formulary has this code."))
                continue
            row = existing.get(drug.pk)
            if row is None:
                row = Stock(pharmacy=pharmacy, drug=drug, on_hand=quantity, reserved=0, updated_at=now)
                to_create.append(row)
            elif quantity < row.reserved:
                results.append(
                    LineResult(
                        index, code, LineStatus.BELOW_RESERVED,
                        f"{row.reserved} are reserved for orders; on hand cannot be set below that.",
                        on_hand=row.on_hand, reserved=row.reserved,
                    )
                )
                continue
            else:
                row.on_hand = quantity
                row.updated_at = now
                to_update.append(row)
            results.append(LineResult(index, code, LineStatus.APPLIED, on_hand=row.on_hand, reserved=row.reserved))
        if to_create:
            bulk_create_with_history(to_create, Stock, default_user=history_user, default_change_reason=(reason or "stock upload")[:100])
        if to_update:
            bulk_update_with_history(
                to_update, Stock, ["on_hand", "updated_at"], default_user=history_user,
                default_change_reason=(reason or "stock upload")[:100],
            )
    return results


# --- Low stock (the pharmacy counter's stock page highlights these) ------------------------
# A line is low when fewer units than this are free for new orders (on hand - reserved): a
# typical month's supply of one prescription is 28-30 tablets, so below 20 the next
# prescription may not be fillable.
LOW_STOCK_AVAILABLE = 20


def stock_is_low(row: Stock) -> bool:
    """Fewer than LOW_STOCK_AVAILABLE units of this line are free for new orders."""
    return row.available < LOW_STOCK_AVAILABLE
