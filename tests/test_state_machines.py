"""One transition helper for every machine (cloudhospital.states): each table covers every
status of its model, nothing leaves a final state, and every move outside a table is
refused with the same error shape before anything changes."""

from types import SimpleNamespace

import pytest

from cloudhospital.errors import DomainError, Kind
from cloudhospital.states import StateTable, can_move, require_move, transition
from consult import consultation as consult_rules
from consult.booking import BOOKING_STATES
from consult.consultation import CONSULTATION_STATES
from consult.models import BookingStatus, Consultation, ConsultationStatus
from pharmacy.models import OrderStatus
from pharmacy.orders.states import ORDER_STATES
from prescriptions.lifecycle import PRESCRIPTION_STATES
from prescriptions.models import PrescriptionStatus
from tests.consult.rooms import make_room

MACHINES = {
    "booking": (BOOKING_STATES, BookingStatus),
    "consultation": (CONSULTATION_STATES, ConsultationStatus),
    "prescription": (PRESCRIPTION_STATES, PrescriptionStatus),
    "order": (ORDER_STATES, OrderStatus),
}


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_each_table_covers_every_status_of_its_model(name):
    table, statuses = MACHINES[name]
    assert set(table.moves) == set(statuses.values)
    assert table.final, "a machine with no final state never ends"
    assert all(not table.moves[state] for state in table.final)


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_every_move_outside_the_table_is_refused_with_one_error_shape(name):
    table, statuses = MACHINES[name]
    refused = 0
    for current in statuses.values:
        for to in statuses.values:
            thing = SimpleNamespace(status=current)
            if to in table.moves[current]:
                assert can_move(thing, to, table=table)
                continue
            with pytest.raises(DomainError) as error:
                require_move(thing, to, table=table)
            assert (error.value.code, error.value.kind) == ("invalid_transition", Kind.CONFLICT)
            assert current in error.value.message
            refused += 1
    assert refused > 0


def test_a_table_cannot_move_into_a_state_it_does_not_define():
    with pytest.raises(ValueError):
        StateTable(label="broken", moves={"a": {"b"}})


@pytest.mark.django_db
def test_transition_stamps_the_time_and_the_history_and_refuses_without_saving():
    room = make_room()
    consultation = Consultation.objects.get(pk=room.consultation.pk)
    with pytest.raises(DomainError):
        transition(consultation, ConsultationStatus.ENDED, table=CONSULTATION_STATES, by=room.doctor_user, reason="x")
    consultation.refresh_from_db()
    assert consultation.status == ConsultationStatus.WAITING and consultation.ended_at is None
    consultation.status = ConsultationStatus.IN_PROGRESS
    transition(consultation, ConsultationStatus.ENDED, table=CONSULTATION_STATES, by=room.doctor_user, reason="done")
    consultation.refresh_from_db()
    latest = consultation.history.first()
    assert consultation.ended_at is not None
    assert (latest.history_user, latest.history_change_reason) == (room.doctor_user, "done")


@pytest.mark.django_db
@pytest.mark.parametrize("status", [ConsultationStatus.IN_PROGRESS, ConsultationStatus.ENDED])
def test_the_consultation_admits_only_from_the_waiting_room(status):
    room = make_room()
    Consultation.objects.filter(pk=room.consultation.pk).update(status=status)
    with pytest.raises(DomainError) as error:
        consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
    assert error.value.code == "invalid_transition"
    assert Consultation.objects.get(pk=room.consultation.pk).status == status


@pytest.mark.django_db
@pytest.mark.parametrize("status", [ConsultationStatus.WAITING, ConsultationStatus.ENDED])
def test_the_consultation_ends_only_while_in_progress(status):
    room = make_room()
    Consultation.objects.filter(pk=room.consultation.pk).update(status=status)
    with pytest.raises(DomainError) as error:
        consult_rules.consultation_end(by=room.doctor_user, consultation=room.consultation)
    assert error.value.code == "invalid_transition"
    assert Consultation.objects.get(pk=room.consultation.pk).status == status
