"""An order as FHIR R4 MedicationDispense resources (one per drug), in a `collection` Bundle.

Built as plain dicts and validated by `fhir.resources.R4B` (FHIR 4.3, whose MedicationDispense
is the R4 one) before it leaves. Each dispense points at the MedicationRequests of
prescriptions.fhir (`MedicationRequest/<prescription>-<position>`) it fills.

Status mapping (MedicationDispense.status): placed / rejected / accepted / preparing ->
preparation; ready_for_pickup / out_for_delivery -> in-progress; picked_up / delivered ->
completed; failed -> declined; cancelled -> cancelled.
"""

from __future__ import annotations

from cloudhospital.fhir_bundle import collection_bundle
from pharmacy.models import Order, OrderStatus
from prescriptions.fhir import ATC_SYSTEM, SYSTEM_BASE

O = OrderStatus
STATUS_MAP = {
    O.PLACED: "preparation", O.REJECTED: "preparation", O.ACCEPTED: "preparation", O.PREPARING: "preparation",
    O.READY_FOR_PICKUP: "in-progress", O.OUT_FOR_DELIVERY: "in-progress",
    O.PICKED_UP: "completed", O.DELIVERED: "completed",
    O.FAILED: "declined", O.CANCELLED: "cancelled", O.WITHDRAWN: "stopped",
}


def _instant(value) -> str | None:
    return value.isoformat() if value else None


def medication_dispense(order: Order, line, prescription_items: list, record) -> dict:
    drug = line.drug
    codings = [{"system": f"{SYSTEM_BASE}:formulary", "code": drug.code, "display": drug.generic_name}]
    if drug.atc_code:
        codings.append({"system": ATC_SYSTEM, "code": drug.atc_code})
    filled = [item for item in prescription_items if item.drug_id == line.drug_id]
    resource = {
        "resourceType": "MedicationDispense",
        "id": f"{order.pk}-{drug.code}"[:64].replace("_", "-"),
        "identifier": [{"system": f"{SYSTEM_BASE}:order-line", "value": f"{order.pk}-{drug.code}"}],
        "status": STATUS_MAP[order.status],
        "category": {"coding": [{
            "system": "http://terminology.hl7.org/fhir/CodeSystem/medicationdispense-category",
            "code": "community", "display": "Community"}]},
        "medicationCodeableConcept": {"coding": codings, "text": str(drug)},
        "subject": {"reference": f"Patient/{order.patient_id}", "display": order.patient.full_name},
        "performer": [{"actor": {"reference": f"Organization/pharmacy-{order.pharmacy_id}",
                                 "display": order.pharmacy.name}}],
        "authorizingPrescription": [
            {"reference": f"MedicationRequest/{order.prescription_id}-{item.position}"} for item in filled
        ],
        "quantity": {"value": line.quantity, "unit": drug.form},
    }
    if filled:
        resource["daysSupply"] = {"value": max(item.days_supply for item in filled), "unit": "days",
                                  "system": "http://unitsofmeasure.org", "code": "d"}
        resource["dosageInstruction"] = [{"sequence": index + 1, "text": (
            f"{item.dose.normalize():f} {item.dose_unit} {item.frequency}"
            + (f"; {item.instructions}" if item.instructions else ""))} for index, item in enumerate(filled)]
    prepared = order.ready_at or order.dispatched_at
    if prepared:
        resource["whenPrepared"] = _instant(prepared)
    if record is not None:
        resource["whenHandedOver"] = _instant(order.received_at or record.dispensed_at)
        if record.pharmacist_id:
            resource["performer"].append({"actor": {"reference": f"Practitioner/{record.pharmacist_id}",
                                                    "display": record.dispensed_by}})
        else:
            resource["performer"].append({"actor": {"display": record.dispensed_by}})
    if order.kind == "delivery":
        resource["destination"] = {"display": order.delivery_address}
        if order.recipient_name:
            resource["receiver"] = [{"display": order.recipient_name}]
    elif record is not None:
        resource["receiver"] = [{"reference": f"Patient/{order.patient_id}"}]
    if order.status == O.FAILED and order.failure_reason:
        resource["statusReasonCodeableConcept"] = {"text": order.failure_reason}
    return resource


def order_bundle(order: Order) -> dict:
    """The order's MedicationDispense resources as a validated FHIR R4 `collection` Bundle.
    The patient, pharmacy, pharmacist and prescriptions are not in it; their references carry
    the urns those resources have in the patient's episode bundle, and a display."""
    return collection_bundle(order_dispenses(order), bundle_id=f"order-{order.pk}", timestamp=_instant(order.updated_at),
                             identifier={"system": f"{SYSTEM_BASE}:order", "value": str(order.pk)})


def pharmacy_organization(pharmacy) -> dict:
    """The pharmacy as the Organization that MedicationDispense.performer names."""
    return {
        "resourceType": "Organization",
        "id": f"pharmacy-{pharmacy.pk}",
        "identifier": [{"system": f"{SYSTEM_BASE}:pharmacy-licence", "value": pharmacy.licence_number}],
        "type": [{"text": "Pharmacy 药房"}],
        "name": pharmacy.name,
        "address": [{"text": pharmacy.address}] if pharmacy.address else [],
    }


def pharmacist_practitioner(user) -> dict:
    """The pharmacist who handed the medicine over, as MedicationDispense.performer names them."""
    return {
        "resourceType": "Practitioner",
        "id": str(user.pk),
        "name": [{"text": user.full_name}],
        "qualification": [{"code": {"text": "Pharmacist 药师"}}],
    }


def order_dispenses(order: Order) -> list[dict]:
    """The MedicationDispense resources of one order, one per line."""
    record = getattr(order, "dispense_record", None)  # the reverse one-to-one raises AttributeError when absent
    prescription_items = list(order.prescription.items.all())
    return [medication_dispense(order, line, prescription_items, record) for line in sorted(order.lines.all(), key=lambda line: line.drug.code)]
