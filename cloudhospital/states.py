"""One helper for every state machine: bookings, consultations, prescriptions and orders.

A machine is a `StateTable`: from each status, the statuses it may move to, and which
timestamp field each move stamps. `transition` is the only way a status changes: it refuses
any move not in the table with one error shape (409 `invalid_transition`, naming the current
state), sets the status and the timestamps, and attributes the history row to who and why.

Checks that a move depends on (a signature, a pickup code, a time window) run before
`transition` is called, never after: `transition` moves, it does not produce messages for
someone else's refusal. A caller that only wants to know whether a move is possible asks
`can_move` (for example to list the actions a client may offer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from cloudhospital.audit import stamp
from cloudhospital.errors import DomainError, Kind


@dataclass(frozen=True)
class StateTable:
    """A state machine: `moves[from]` is the set of statuses `from` may become.

    `stamps[to]` names the timestamp field set to now on entering `to`; `always` lists
    fields set to now on every move (e.g. `updated_at`). `verbs[to]`, when given, words the
    refusal as "Cannot <verb>: the <label> is <current>."
    """

    label: str
    moves: Mapping[str, frozenset[str] | set[str]]
    stamps: Mapping[str, str] = field(default_factory=dict)
    always: tuple[str, ...] = ()
    verbs: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        unknown = {to for targets in self.moves.values() for to in targets} - set(self.moves)
        if unknown:
            raise ValueError(f"{self.label}: moves into unknown states {sorted(unknown)}")

    @property
    def final(self) -> frozenset[str]:
        """The states nothing leaves."""
        return frozenset(state for state, targets in self.moves.items() if not targets)


def can_move(obj: models.Model, to: str, *, table: StateTable) -> bool:
    return to in table.moves.get(obj.status, ())


# The tables' labels and verbs, marked here for the translators (makemessages finds
# gettext_noop); refusal() translates them in the request's language.
TABLE_WORDS = (
    gettext_noop("booking"), gettext_noop("consultation"), gettext_noop("prescription"), gettext_noop("order"),
    gettext_noop("check in"), gettext_noop("start the consultation"), gettext_noop("complete the consultation"),
    gettext_noop("cancel"), gettext_noop("mark a no-show"), gettext_noop("admit the patient"),
    gettext_noop("end the consultation"),
)


def refusal(obj: models.Model, to: str, *, table: StateTable) -> DomainError:
    """The one error shape for a move the table does not allow."""
    current = obj.status
    if to in table.verbs:
        display = str(obj.get_status_display()).lower() if hasattr(obj, "get_status_display") else current
        shown = current if display == current else f"{display} ({current})"
        return DomainError(_("Cannot %(action)s: the %(thing)s is %(status)s.")
                           % {"action": _(table.verbs[to]), "thing": _(table.label), "status": shown},
                           code="invalid_transition", kind=Kind.CONFLICT)
    return DomainError(_("The %(thing)s is %(status)s; it cannot become %(to)s.")
                       % {"thing": _(table.label), "status": current, "to": to},
                       code="invalid_transition", kind=Kind.CONFLICT)


def require_move(obj: models.Model, to: str, *, table: StateTable) -> None:
    """Refuse (409 `invalid_transition`) unless `obj` may move to `to` now."""
    if not can_move(obj, to, table=table):
        raise refusal(obj, to, table=table)


def transition(obj: models.Model, to: str, *, table: StateTable, by, reason: str,
               now: datetime | None = None) -> models.Model:
    """Move a locked `obj` to `to` if `table` allows it, stamping the move's timestamp,
    the always-stamped fields and the history row (who: `by`, why: `reason`), and save.

    The caller locks the row and sets the fields that go with the move first."""
    require_move(obj, to, table=table)
    moment = now or timezone.now()
    obj.status = to
    if to in table.stamps:
        setattr(obj, table.stamps[to], moment)
    for name in table.always:
        setattr(obj, name, moment)
    stamp(obj, by=by, reason=reason or to)
    obj.save()
    return obj


# --- Which actions may happen now -----------------------------------------------------------
# A domain module keeps one check per action (the API's verb: "cancel", "check-in" ...):
# `check(obj, by, now)` raises the DomainError the verb would refuse with, and the verb
# calls the same check before it acts. The client's `allowed_actions` is the checks that
# pass, so the list cannot drift from what the verbs do.
Check = Callable[[models.Model, object, datetime], None]


def refusal_of(check: Check, obj: models.Model, *, by, now: datetime) -> DomainError | None:
    """The refusal `check` raises for `by` on `obj` at `now`, or None when it passes."""
    try:
        check(obj, by, now)
    except DomainError as refused:
        return refused
    return None


def actions_allowed(checks: Mapping[str, Check], obj: models.Model, *, by, now: datetime | None = None) -> list[str]:
    """The names of `checks` that pass for `by` on `obj` now, in the table's order."""
    moment = now or timezone.now()
    return [name for name, check in checks.items() if refusal_of(check, obj, by=by, now=moment) is None]
