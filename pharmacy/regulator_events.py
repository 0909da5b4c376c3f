"""The dispense event for the regulator's feed (cloudhospital.regulator): a pharmacy handed the
medicines over (pickup) or delivered them, with what was dispensed, by whom and where
(互联网诊疗监管细则（试行）: no drug is supplied before the prescription; the platform collects
e-prescriptions and drug use).

Called by pharmacy.orders.steps inside the hand-over's transaction."""

from __future__ import annotations

from cloudhospital.regulator import regulator_report
from consult.regulator_events import patient_payload
from pharmacy.models import DispenseRecord


def dispense_report(record: DispenseRecord) -> None:
    order, pharmacy = record.order, record.pharmacy
    regulator_report("prescription.dispensed", {
        "dispense_record_id": record.pk,
        "order_id": order.pk,
        "prescription_id": record.prescription_id,
        "consultation_id": order.prescription.consultation_id,
        "patient": patient_payload(order.patient),
        "pharmacy": {"id": pharmacy.pk, "name": pharmacy.name, "licence_number": pharmacy.licence_number},
        "handover": record.handover,
        "dispensed_by": record.dispensed_by,
        "dispensed_at": record.dispensed_at,
        "lines": [{"drug_code": line["drug_code"], "drug_name": line["drug_name"], "quantity": line["quantity"]}
                  for line in record.lines],
    }, occurred_at=record.dispensed_at)
