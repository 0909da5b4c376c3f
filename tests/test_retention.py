"""Retention (cloudhospital.retention, `manage.py purge_expired`): each kind of record is
purged only once past its period (online care 15 years, chat 3, prescriptions 1/2/3 by legal
class, pharmacy orders with their prescription), never under a legal hold, a dry run changes
nothing, every run is recorded, and the access log's chains still verify."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.utils import timezone

from cloudhospital.audit import access_log_record, access_log_verify
from cloudhospital.errors import DomainError
from cloudhospital.models import LegalHold, PurgeRun
from cloudhospital.retention import (
    legal_hold_place,
    legal_hold_release,
    retention_kinds,
    retention_purge,
    years_before,
)
from consult import consultation as consult_rules
from consult.models import Booking, ChatMessage, Consultation
from pharmacy import orders
from pharmacy.models import DispenseRecord, Order
from prescriptions.models import Prescription, PrescriptionItem
from tests.consult.rooms import make_room
from tests.factories import (
    ApprovedPrescriptionFactory,
    DependantFactory,
    DrugFactory,
    PatientFactory,
    PharmacyFactory,
    PharmacyStaffFactory,
    StockFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def years_ago(years: float, now=None):
    now = now or timezone.now()
    whole = int(years)
    return years_before(now, whole) - timedelta(days=round((years - whole) * 365))


def ended_visit(years: float):
    """A consultation held and ended `years` ago, with one chat message from the family."""
    with time_machine.travel(years_ago(years), tick=False):
        room = make_room()
        consultation = consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
        consult_rules.chat_post(by=room.proxy, consultation=consultation, role="patient", text="血压 150/90", relay=False)
        consult_rules.consultation_end(by=room.doctor_user, consultation=consultation)
    return room


def prescription(years: float, *legal_classes: str):
    """An approved prescription signed `years` ago, one item per legal class."""
    with time_machine.travel(years_ago(years), tick=False):
        drugs = [(DrugFactory(legal_class=legal_class), 14) for legal_class in legal_classes or ("ordinary",)]
        return ApprovedPrescriptionFactory(items=drugs)


def admin():
    return UserFactory(role="hospital_admin", is_staff=True)


def report_of(run: PurgeRun) -> dict:
    return {row["kind"]: row for row in run.report}


def test_every_app_registers_its_kinds_dependants_last():
    names = [kind.name for kind in retention_kinds()]
    assert names[:2] == ["online_care_records", "chat_messages"]
    assert names.index("prescriptions") < names.index("pharmacy_orders")


def test_a_consult_14_years_old_is_kept_and_one_past_15_is_purged_with_its_history():
    kept, old = ended_visit(14), ended_visit(15.1)
    old_consultation, old_booking = old.consultation.pk, old.booking.pk
    run = retention_purge()
    assert not Consultation.objects.filter(pk=old_consultation).exists()
    assert not Booking.objects.filter(pk=old_booking).exists()
    # simple-history would otherwise keep every purged field
    assert not Consultation.history.filter(id=old_consultation).exists()
    assert not Booking.history.filter(id=old_booking).exists()
    assert Consultation.objects.filter(pk=kept.consultation.pk).exists()
    assert Booking.objects.filter(pk=kept.booking.pk).exists()
    row = report_of(run)["online_care_records"]
    assert (row["past_retention"], row["purged"], row["held"], row["skipped"]) == (1, 1, 0, 0)
    assert row["actions"] == {"deleted": 1} and row["years"] == 15


def test_chat_is_kept_3_years_while_its_consultation_stays_for_15():
    recent, older = ended_visit(2.9), ended_visit(3.1)
    run = retention_purge()
    assert ChatMessage.objects.filter(consultation=recent.consultation).count() == 1
    assert not ChatMessage.objects.filter(consultation=older.consultation).exists()
    assert not ChatMessage.history.filter(consultation_id=older.consultation.pk).exists()
    assert Consultation.objects.filter(pk=older.consultation.pk).exists()
    assert report_of(run)["chat_messages"]["purged"] == 1


def test_an_ordinary_prescription_goes_after_1_year_a_narcotic_one_after_3():
    ordinary = prescription(1.1)
    narcotic = prescription(1.1, "ordinary", "narcotic")  # the longest class decides
    old_narcotic = prescription(3.1, "narcotic")
    toxic_young, toxic_old = prescription(1.9, "toxic"), prescription(2.1, "psychotropic_2")
    young = prescription(0.9)
    run = retention_purge()
    left = set(Prescription.objects.values_list("pk", flat=True))
    assert left == {narcotic.pk, toxic_young.pk, young.pk}
    assert not PrescriptionItem.objects.filter(prescription__in=[ordinary.pk, old_narcotic.pk, toxic_old.pk]).exists()
    assert not Prescription.history.filter(id=ordinary.pk).exists()
    # the consultation it was written in stays for its own 15 years
    assert Consultation.objects.filter(pk=ordinary.consultation_id).exists()
    assert report_of(run)["prescriptions"]["purged"] == 3


def test_pharmacy_orders_and_dispense_records_go_with_their_prescription():
    with time_machine.travel(years_ago(1.2), tick=False):
        daughter = PatientFactory()
        father = DependantFactory(proxy=daughter.account)
        drug = DrugFactory()
        rx = ApprovedPrescriptionFactory(patient=father, items=[(drug, 14)])
        pharmacy = PharmacyFactory()
        StockFactory(pharmacy=pharmacy, drug=drug, on_hand=50)
        pharmacist = PharmacyStaffFactory(pharmacy=pharmacy).user
        order = orders.order_place(by=daughter.account, prescription=rx, kind="pickup", pharmacy=pharmacy)
        orders.order_accept(order=order, pharmacy=pharmacy, by=pharmacist)
        orders.order_prepare(order=order, pharmacy=pharmacy, by=pharmacist)
        ready = orders.order_ready(order=order, pharmacy=pharmacy, by=pharmacist)
        orders.order_pick_up(order=order, pharmacy=pharmacy, by=pharmacist, pickup_code=ready.pickup_code)
    assert DispenseRecord.objects.filter(order=order).exists()
    run = retention_purge()
    assert not Order.objects.filter(pk=order.pk).exists() and not DispenseRecord.objects.exists()
    assert not Prescription.objects.filter(pk=rx.pk).exists()
    report = report_of(run)
    assert report["pharmacy_orders"]["purged"] == 1 and report["prescriptions"]["purged"] == 1


def test_a_hold_on_the_patient_keeps_everything_of_theirs_and_the_report_says_so():
    held, other = ended_visit(16), ended_visit(16)
    rx = prescription(2)
    LegalHold.objects.create(patient=held.patient, reason="complaint 2026-07", placed_by=admin())
    legal_hold_place(by=admin(), reason="inquiry", target=rx)
    run = retention_purge()
    assert Consultation.objects.filter(pk=held.consultation.pk).exists()
    assert ChatMessage.objects.filter(consultation=held.consultation).exists()
    assert not Consultation.objects.filter(pk=other.consultation.pk).exists()
    assert Prescription.objects.filter(pk=rx.pk).exists()
    report = report_of(run)
    assert report["online_care_records"]["held"] == 1 and report["online_care_records"]["purged"] == 1
    assert report["chat_messages"]["held"] == 1
    assert report["prescriptions"]["held"] == 1 and report["prescriptions"]["purged"] == 0


def test_a_hold_on_one_chat_message_keeps_it_and_its_consultation_from_the_cascade():
    room = ended_visit(16)
    message = ChatMessage.objects.get(consultation=room.consultation)
    hold = legal_hold_place(by=admin(), reason="the message is evidence", target=message)
    report = report_of(retention_purge())
    assert ChatMessage.objects.filter(pk=message.pk).exists()
    assert Consultation.objects.filter(pk=room.consultation.pk).exists()
    assert report["chat_messages"]["held"] == 1 and report["online_care_records"]["held"] == 1
    legal_hold_release(by=admin(), hold=hold)
    retention_purge()
    assert not Consultation.objects.filter(pk=room.consultation.pk).exists()


def test_a_held_prescription_keeps_its_old_consultation_as_skipped():
    rx = prescription(16)
    legal_hold_place(by=admin(), reason="court order", target=rx)
    report = report_of(retention_purge())
    assert Consultation.objects.filter(pk=rx.consultation_id).exists()
    assert report["prescriptions"]["held"] == 1
    assert report["online_care_records"]["skipped"] == 1 and report["online_care_records"]["purged"] == 0


def test_a_dry_run_changes_nothing_and_is_recorded():
    ended_visit(16)
    prescription(1.5)
    before = (Consultation.objects.count(), ChatMessage.objects.count(), Prescription.objects.count())
    run = retention_purge(dry_run=True)
    assert (Consultation.objects.count(), ChatMessage.objects.count(), Prescription.objects.count()) == before
    report = report_of(run)
    # the old visit only: the consultation the prescription was written in is 1.5 years old
    assert report["online_care_records"]["would_purge"] == 1 and report["online_care_records"]["purged"] == 0
    assert report["prescriptions"]["would_purge"] == 1
    assert PurgeRun.objects.get(pk=run.pk).dry_run is True


def test_the_access_log_chains_still_verify_after_a_purge():
    room = ended_visit(16)
    reader = UserFactory(role="doctor")
    for _ in range(3):
        access_log_record(user=reader, patient=room.patient, action="record_read", reason="test")
    retention_purge()
    assert not Consultation.objects.filter(pk=room.consultation.pk).exists()
    checked, broken = access_log_verify()
    assert broken is None and checked >= 3


def test_purge_expired_command_reports_per_kind_and_honours_now_and_dry_run():
    room = ended_visit(2)
    out = StringIO()
    call_command("purge_expired", "--dry-run", "--now", (timezone.now() + timedelta(days=366 * 14)).isoformat(), stdout=out)
    text = out.getvalue()
    assert "(dry run)" in text and "online_care_records (keep 15 years): past retention 1, would purge 1" in text
    assert Consultation.objects.filter(pk=room.consultation.pk).exists()
    out = StringIO()
    call_command("purge_expired", "--now", (timezone.now() + timedelta(days=366 * 14)).date().isoformat(), stdout=out)
    assert "online_care_records (keep 15 years): past retention 1, purged 1 (deleted 1)" in out.getvalue()
    assert not Consultation.objects.filter(pk=room.consultation.pk).exists()
    assert PurgeRun.objects.count() == 2


def test_purge_expired_refuses_a_bad_now_and_an_unknown_kind():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--now"):
        call_command("purge_expired", "--now", "yesterday")
    with pytest.raises(CommandError, match="unknown"):
        call_command("purge_expired", "--kind", "everything")


def test_legal_holds_are_placed_by_hospital_admins_with_a_reason_on_one_thing():
    room = ended_visit(1)
    with pytest.raises(DomainError) as refused:
        legal_hold_place(by=UserFactory(role="doctor"), reason="x", patient=room.patient)
    assert refused.value.code == "forbidden"
    with pytest.raises(DomainError) as refused:
        legal_hold_place(by=admin(), reason="  ", patient=room.patient)
    assert refused.value.field == "reason"
    with pytest.raises(DomainError) as refused:
        legal_hold_place(by=admin(), reason="x", patient=room.patient, target=room.consultation)
    assert refused.value.field == "patient"
    with pytest.raises(DomainError) as refused:
        legal_hold_place(by=admin(), reason="x", content_type=ContentType.objects.get_for_model(Consultation),
                         object_id="999999")
    assert refused.value.field == "object_id"
    hold = legal_hold_place(by=admin(), reason="dispute", patient=room.patient)
    legal_hold_release(by=admin(), hold=hold)
    with pytest.raises(DomainError) as refused:
        legal_hold_release(by=admin(), hold=hold)
    assert refused.value.code == "hold_released"


def test_the_admin_places_and_releases_a_hold(client):
    room = ended_visit(1)
    user = admin()
    user.is_superuser = True
    user.save()
    client.force_login(user)
    response = client.post("/admin/cloudhospital/legalhold/add/", {"patient": room.patient.pk, "reason": ""})
    assert response.status_code == 200 and not LegalHold.objects.exists()  # the form shows the refusal
    response = client.post("/admin/cloudhospital/legalhold/add/", {"patient": room.patient.pk, "reason": "complaint"})
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert hold.placed_by == user and hold.active
    client.post("/admin/cloudhospital/legalhold/", {"action": "release", "_selected_action": [hold.pk]})
    hold.refresh_from_db()
    assert hold.released_by == user and not hold.active


def test_recordings_go_after_3_years_before_their_consultation_and_in_the_same_run():
    from consult.models import ConsultRecording

    def recorded(years):
        room = ended_visit(years)
        with time_machine.travel(years_ago(years), tick=False):
            return ConsultRecording.objects.create(consultation=room.consultation, started_by=room.doctor_user,
                                                   mime_type="video/webm")

    young, old, ancient = recorded(2.9), recorded(3.1), recorded(16)
    report = report_of(retention_purge())
    assert set(ConsultRecording.objects.values_list("pk", flat=True)) == {young.pk}
    assert Consultation.objects.filter(pk=old.consultation_id).exists()
    assert not Consultation.objects.filter(pk=ancient.consultation_id).exists()  # its recording went first
    assert report["recordings"]["purged"] == 2 and report["online_care_records"]["skipped"] == 0
