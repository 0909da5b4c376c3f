"""The access policy's core: roles, the system actor, and how every app's rules are asked.

Each app keeps its own "who may do what to which object" predicates in its `permissions.py`
(consult, prescriptions, pharmacy). They are `rules` predicates (django-rules): plain
callables `predicate(user, obj) -> bool` that combine with `|` and `&`, and each object
action is registered once as a named permission (`rules.add_perm("consult.cancel_booking",
...)`). Views, pages, consumers, admin and the domain functions all ask the same rule:

- domain code: `require("consult.cancel_booking", by, booking, message=...)` raises the
  forbidden DomainError, so a new task, admin action or socket cannot skip authorisation;
- views and templates: `allowed(...)`, or `{% has_perm "consult.cancel_booking" user booking %}`.

Scheduled work has no user: it acts as `SYSTEM`, which only the rules that name it allow
(marking no-shows, expiring prescriptions, reassigning orders), so `by=None` is refused
everywhere instead of silently passing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import rules

from cloudhospital.errors import forbidden
from cloudhospital.models import Role


class SystemActor:
    """The actor of scheduled and automatic work (beat tasks, demo seeding): no login, no
    history user, allowed only where a rule names it."""

    pk = None
    id = None
    is_authenticated = False
    is_active = True
    is_superuser = False
    role = "system"
    full_name = "system"

    def __repr__(self):
        return "SYSTEM"

    __str__ = __repr__


SYSTEM = SystemActor()


def user_or_none(actor):
    """The User to attribute a history row to: a login, or None for the system or an API token."""
    return actor if getattr(actor, "pk", None) else None


# --- Role predicates ----------------------------------------------------------------------


@rules.predicate
def is_system(actor) -> bool:
    return actor is SYSTEM


@rules.predicate
def is_signed_in(actor) -> bool:
    """An active login (a User row), not the system and not a pharmacy API token."""
    return bool(getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None) and actor.is_active)


@rules.predicate
def is_superuser(actor) -> bool:
    return bool(is_signed_in(actor) and actor.is_superuser)


def has_role(role: str):
    @rules.predicate(name=f"has_role_{role}")
    def check(actor) -> bool:
        return bool(is_signed_in(actor) and actor.role == role)

    return check


is_patient_account = has_role(Role.PATIENT)
is_doctor = has_role(Role.DOCTOR)
is_pharmacist = has_role(Role.PHARMACIST)
is_hospital_admin = has_role(Role.HOSPITAL_ADMIN)


# --- Asking the policy --------------------------------------------------------------------


def allowed(permission: str, actor, obj=None) -> bool:
    """Whether `actor` may `permission` on `obj`, by the registered rule (no superuser or
    backend shortcut: only what the rule itself says)."""
    return rules.has_perm(permission, actor, obj)


def require(permission: str, actor, obj=None, *, message: str, code: str = "forbidden") -> None:
    """Refuse (forbidden DomainError with `message`) unless the rule allows it."""
    if not allowed(permission, actor, obj):
        raise forbidden(message, code=code)


# --- One answer per rendering ---------------------------------------------------------------
# A list of 100 bookings asks "does this user manage patient N" for every row. Inside a
# `policy_memo()` scope (opened by the API while it renders `allowed_actions`) a predicate
# that depends only on the actor (and a key) computes its answer once, from the same
# queryset it would otherwise filter per row. Outside a scope nothing is remembered: the
# domain verbs always ask the database under their locks.
_memo: ContextVar[dict | None] = ContextVar("policy_memo", default=None)


@contextmanager
def policy_memo(store: dict | None = None) -> Iterator[dict]:
    """Remember actor-only answers in `store` (a fresh dict by default) until the scope ends."""
    store = {} if store is None else store
    token = _memo.set(store)
    try:
        yield store
    finally:
        _memo.reset(token)


def memoized(key: tuple, compute: Callable[[], Any]) -> Any:
    """`compute()`, once per `key` inside a `policy_memo` scope; every time outside one."""
    store = _memo.get()
    if store is None:
        return compute()
    if key not in store:
        store[key] = compute()
    return store[key]


def in_policy_memo() -> bool:
    return _memo.get() is not None


# Legal holds (cloudhospital.retention): the hospital's administrators place and release them.
rules.add_perm("cloudhospital.manage_legal_holds", is_hospital_admin)
