"""A patient's whole episode as one FHIR R4 Bundle, gathered from every app.

Each app builds its own resources (consult.fhir, prescriptions.fhir, pharmacy.fhir); this
module, which knows all apps, only collects them; cloudhospital.fhir_bundle packs them with
urn:uuid fullUrls and references and validates the result with fhir.resources.
"""

from django.utils import timezone

from cloudhospital.fhir_bundle import collection_bundle

from consult import fhir as consult_fhir
from consult.models import Doctor, Patient
from consult.permissions import bookings_visible_to, consultations_visible_to, manages_patient
from consult.consent import proxy_consents_of
from pharmacy import fhir as pharmacy_fhir
from pharmacy.permissions import orders_visible_to
from prescriptions import fhir as prescriptions_fhir
from prescriptions.models import PrescriptionStatus
from prescriptions.permissions import prescriptions_visible_to


def patient_episode_bundle(*, patient: Patient, viewer) -> dict:
    """Patient, problems, allergies, observations, and of the rest exactly what `viewer` may
    read through the API — built from the same policy querysets: the proxies (the family
    only), the appointments and encounters (bookings_visible_to, consultations_visible_to),
    the prescriptions (prescriptions_visible_to), their dispenses (orders_visible_to), and the
    doctors, pharmacies and pharmacists those name. Allergies to a formulary drug or drug
    class are coded (prescriptions.fhir). A validated collection Bundle."""
    resources: list[dict] = [consult_fhir.patient_resource(patient)]
    if manages_patient(viewer, patient):
        resources += [consult_fhir.related_person_resource(link) for link in patient.proxy_links.select_related("proxy")]
        resources += [consult_fhir.proxy_consent_resource(consent) for consent in proxy_consents_of(patient)]
    resources += [consult_fhir.condition_resource(c) for c in patient.conditions.all()]
    resources += prescriptions_fhir.allergy_intolerances(patient.allergies.all())
    for observation in patient.observations.order_by("measured_at", "id"):
        resources += consult_fhir.observation_resources(observation)

    bookings = list(
        bookings_visible_to(viewer).filter(patient=patient).select_related("patient", "slot__clinic", "slot__doctor__user").order_by("slot__starts_at")
    )
    consultations = list(
        consultations_visible_to(viewer).filter(booking__patient=patient).select_related("booking__slot__doctor__user").order_by("id")
    )
    prescriptions = list(
        prescriptions_visible_to(viewer)
        .filter(patient=patient)
        .exclude(status=PrescriptionStatus.DRAFT)
        .select_related("patient", "doctor")
        .prefetch_related("items__drug")
        .order_by("id")
    )
    doctor_users = {b.slot.doctor.user_id for b in bookings} | {p.doctor_id for p in prescriptions}
    resources += [
        consult_fhir.practitioner_resource(doctor)
        for doctor in Doctor.objects.filter(user_id__in=doctor_users).select_related("user").order_by("user_id")
    ]
    resources += [consult_fhir.appointment_resource(b) for b in bookings]
    resources += [consult_fhir.encounter_resource(c) for c in consultations]
    for prescription in prescriptions:
        resources += [prescriptions_fhir.medication_request(prescription, item) for item in prescription.items.all()]
    orders = list(
        orders_visible_to(viewer).filter(prescription__in=prescriptions)
        .select_related("patient", "pharmacy", "prescription", "dispense_record__pharmacist")
        .prefetch_related("lines__drug", "prescription__items")
        .order_by("id")
    )
    for order in orders:
        resources += pharmacy_fhir.order_dispenses(order)
    resources += [pharmacy_fhir.pharmacy_organization(p) for p in {o.pharmacy_id: o.pharmacy for o in orders}.values()]
    pharmacists = {o.dispense_record.pharmacist_id: o.dispense_record.pharmacist for o in orders
                   if getattr(o, "dispense_record", None) and o.dispense_record.pharmacist_id}
    resources += [pharmacy_fhir.pharmacist_practitioner(user) for pk, user in pharmacists.items() if pk not in doctor_users]

    return collection_bundle(resources, bundle_id=f"patient-{patient.pk}-episode", timestamp=timezone.now().isoformat())

