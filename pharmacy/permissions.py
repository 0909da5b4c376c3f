"""Who may see and do what with pharmacies, stock and orders. See cloudhospital.permissions.

Two sides: the family (the patient and their proxies) orders, reads and cancels their
orders; a pharmacy (its API token or a member of its staff) sees only the orders routed to
it now and takes their steps. The per-side querysets are what views start from, so a
foreign id is a 404.
"""

from __future__ import annotations

import rules
from django.db.models import QuerySet

from cloudhospital.permissions import is_hospital_admin, is_signed_in, is_superuser, is_system, memoized
from consult.permissions import manages_patient, patients_managed_by
from pharmacy.models import Order, Pharmacy, PharmacyApiToken, PharmacyStaff
from prescriptions.models import Prescription, PrescriptionStatus

# --- Querysets -----------------------------------------------------------------------------


def prescriptions_orderable_by(user) -> QuerySet[Prescription]:
    """Prescriptions of the patients `user` manages (own and dependants'), drafts excluded:
    the ones they may choose a pharmacy for. Whether each is approved is the domain's check."""
    if not is_signed_in(user):
        return Prescription.objects.none()
    return Prescription.objects.filter(patient__in=patients_managed_by(user).values("pk")).exclude(
        status=PrescriptionStatus.DRAFT
    )


def orders_visible_to(user) -> QuerySet[Order]:
    """Orders for the patients `user` manages."""
    if not is_signed_in(user):
        return Order.objects.none()
    return Order.objects.filter(patient__in=patients_managed_by(user).values("pk"))


def orders_for_pharmacy(pharmacy: Pharmacy) -> QuerySet[Order]:
    """Orders routed to `pharmacy` now (an order reassigned away is no longer its own)."""
    return Order.objects.filter(pharmacy=pharmacy)


# --- Predicates ----------------------------------------------------------------------------


def pharmacy_may_see(pharmacy: Pharmacy | None, order: Order) -> bool:
    """The order is with `pharmacy` now."""
    return pharmacy is not None and order.pharmacy_id == pharmacy.pk


@rules.predicate
def acts_for_pharmacy(actor, pharmacy) -> bool:
    """`actor` is `pharmacy`'s API token, or a logged-in member of its staff."""
    if pharmacy is None:
        return False
    token = getattr(actor, "token", None)
    if isinstance(token, PharmacyApiToken):
        return token.pharmacy_id == pharmacy.pk and token.revoked_at is None
    return bool(is_signed_in(actor) and memoized(
        ("pharmacy_staff", actor.pk, pharmacy.pk),
        lambda: PharmacyStaff.objects.filter(user=actor, pharmacy=pharmacy).exists()))


@rules.predicate
def manages_order_patient(user, order) -> bool:
    return order is not None and manages_patient(user, order.patient_id)


@rules.predicate
def may_order_prescription(user, prescription) -> bool:
    return prescription is not None and manages_patient(user, prescription.patient_id)


rules.add_perm("pharmacy.place_order", may_order_prescription)  # obj: the prescription
rules.add_perm("pharmacy.cancel_order", manages_order_patient)
rules.add_perm("pharmacy.act_for", acts_for_pharmacy)  # obj: the pharmacy
may_administer = is_system | is_superuser | is_hospital_admin
rules.add_perm("pharmacy.administer", may_administer)  # tokens, staff
rules.add_perm("pharmacy.set_stock", acts_for_pharmacy | may_administer)  # obj: the pharmacy
rules.add_perm("pharmacy.reassign", is_system)
