"""The access log is append-only and tamper-evident: each patient's rows form a hash chain
that `manage.py audit_verify` walks, naming the first broken link; on PostgreSQL the
database itself refuses UPDATE and DELETE; the admin offers neither."""

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from cloudhospital.audit import access_log_record, access_log_record_many, access_log_verify
from cloudhospital.models import AccessLog
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db
ON_POSTGRES = connection.vendor == "postgresql"


@pytest.fixture
def logged():
    doctor, patients = UserFactory(role="doctor"), [PatientFactory() for _ in range(2)]
    for n in range(3):
        for patient in patients:
            access_log_record(user=doctor, patient=patient, action="record_read", reason=f"booking {n}")
    access_log_record_many(user=doctor, reasons={p.pk: "list" for p in patients}, action="patient_list_read")
    return patients


def test_each_patient_has_one_unbroken_chain(logged):
    assert access_log_verify() == (8, None)
    for patient in logged:
        rows = list(AccessLog.objects.filter(patient=patient).order_by("seq"))
        assert [row.seq for row in rows] == [1, 2, 3, 4]
        assert all(later.prev_hash == earlier.hash for earlier, later in zip(rows, rows[1:]))
    call_command("audit_verify")


@pytest.mark.skipif(ON_POSTGRES, reason="on PostgreSQL the trigger refuses the edit itself (tested below)")
def test_an_edited_row_is_named_as_the_first_broken_link(logged, capsys):
    target = AccessLog.objects.filter(patient=logged[1], seq=2).get()
    AccessLog.objects.filter(pk=target.pk).update(reason="nothing to see")
    checked, broken = access_log_verify()
    assert (broken.patient_id, broken.seq, broken.row_id) == (logged[1].pk, 2, target.pk)
    assert "changed" in broken.problem
    with pytest.raises(CommandError, match=f"patient {logged[1].pk}, link 2"):
        call_command("audit_verify")


@pytest.mark.skipif(ON_POSTGRES, reason="on PostgreSQL the trigger refuses the delete itself (tested below)")
def test_a_removed_row_breaks_the_chain(logged):
    AccessLog.objects.filter(patient=logged[0], seq=3).delete()
    _, broken = access_log_verify(patient_ids=[logged[0].pk])
    assert (broken.patient_id, broken.seq, broken.problem) == (logged[0].pk, 3, "link 3 is missing")


@pytest.mark.skipif(not ON_POSTGRES, reason="the append-only trigger is PostgreSQL's")
@pytest.mark.parametrize("change", [lambda rows: rows.update(reason="x"), lambda rows: rows.delete()])
def test_postgresql_refuses_to_change_or_delete_a_row(logged, change):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        change(AccessLog.objects.filter(patient=logged[0]))
    assert access_log_verify() == (8, None)


def test_the_admin_cannot_change_or_delete_a_row(logged, client):
    admin = UserFactory(role="hospital_admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    row = AccessLog.objects.first()
    assert client.get(f"/admin/cloudhospital/accesslog/{row.pk}/delete/").status_code == 403
    response = client.post("/admin/cloudhospital/accesslog/", {"action": "delete_selected", "_selected_action": [row.pk]})
    assert AccessLog.objects.filter(pk=row.pk).exists() and response.status_code in (200, 302)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent appends need PostgreSQL")
def test_concurrent_appends_for_one_patient_never_fork_the_chain():
    patient = PatientFactory()
    readers = [UserFactory(role="doctor") for _ in range(8)]
    barrier = threading.Barrier(len(readers))

    def read(user):
        try:
            barrier.wait()
            for _ in range(5):
                access_log_record(user=user, patient=patient, action="record_read")
        finally:
            connection.close()

    threads = [threading.Thread(target=read, args=(user,)) for user in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert access_log_verify() == (40, None)
    assert sorted(AccessLog.objects.values_list("seq", flat=True)) == list(range(1, 41))
