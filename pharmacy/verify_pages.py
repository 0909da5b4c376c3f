"""The page a paper prescription's QR opens: is this prescription genuine, and what is its
status now.

No login: whoever holds the paper (the patient, a family member, a pharmacy's counter)
scans it. The link carries an unguessable code (prescriptions.paper.verify_code), so the
page cannot be used to walk through prescription ids. It shows whether the signature
verifies (`prescription_verify`), who signed it (doctor, title, hospital) and when, and the
status now, with no clinical data: the patient's name masked, no medicines, no diagnosis.

The one exception is a pharmacy that holds an order for the prescription (the orders the
pharmacy API shows it: `orders_for_pharmacy`): its logged-in staff also see the patient and
the items, read through `prescription_for`, which writes the access log. The page lives in
the pharmacy app for that reason (prescriptions may not import pharmacy).
"""

from django.shortcuts import render
from django.views.decorators.cache import never_cache

from cloudhospital.errors import DomainError
from pharmacy.access import pharmacy_for
from pharmacy.api.order_serializers import mask_name
from pharmacy.permissions import orders_for_pharmacy
from prescriptions.lifecycle import prescription_verify
from prescriptions.models import Prescription
from prescriptions.paper import frequency_label, prescription_id_from_code, sex_label, status_label, status_now
from prescriptions.selectors import prescription_for, prescriptions_for_display


def _no_referrer(response):
    # The code in the URL is the key to this page: never hand it on to another site.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _held_by_pharmacy(request, prescription_id: int) -> Prescription | None:
    """The prescription with its items, when the viewer is staff of a pharmacy that holds an
    order for it (the read logged); else None."""
    pharmacy = pharmacy_for(user=request.user, auth=None)
    if pharmacy is None:
        return None
    held = Prescription.objects.filter(pk__in=orders_for_pharmacy(pharmacy).values("prescription_id"))
    try:
        return prescription_for(request.user, prescription_id, purpose="prescription_verify_pharmacy",
                                queryset=prescriptions_for_display(held))
    except DomainError:
        return None


@never_cache
def prescription_paper_verify(request, code: str):
    prescription_id = prescription_id_from_code(code)
    prescription = (
        Prescription.objects.select_related("patient", "doctor__doctor_profile__hospital", "revision")
        .filter(pk=prescription_id).first() if prescription_id is not None else None
    )
    if prescription is None:
        return _no_referrer(render(request, "pharmacy/verify/invalid.html", status=404))
    valid, reason = prescription_verify(prescription)
    status = status_now(prescription)
    clinical = _held_by_pharmacy(request, prescription.pk)
    context = {
        "rx": prescription,
        "valid": valid,
        "verify_reason": reason,
        "status": status,
        "status_text": status_label(status),
        "profile": getattr(prescription.doctor, "doctor_profile", None),
        "masked_patient": mask_name(prescription.patient.full_name),
        "revision": getattr(prescription, "revision", None),
        "clinical": clinical,
        "sex": sex_label(clinical.patient.sex) if clinical else "",
        "items": [
            {"item": item, "frequency": frequency_label(item.frequency)} for item in clinical.items.all()
        ] if clinical else [],
    }
    return _no_referrer(render(request, "pharmacy/verify/verify.html", context))
