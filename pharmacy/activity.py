"""Medicine orders in the patient's activity (consult.activity): who placed, paid, picked up
or cancelled an order, and on whose behalf. Registered from PharmacyConfig.ready, because
consult does not import pharmacy."""

from consult.activity import activity_source_register, history_events


def order_events(patient, limit: int):
    from pharmacy.models import Order

    return history_events(Order, limit=limit, label="medicine order", patient_id=patient.pk)


def register() -> None:
    activity_source_register(order_events)
