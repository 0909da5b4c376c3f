"""The family's find-care, booking and visit pages (consult.care_pages, consult.family_pages):
they search, book, reschedule, cancel and check in through consult.booking, only for the
patients the family member manages, and every refusal is the rule's message with a 4xx."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consult.acting import SESSION_KEY
from consult.models import Booking, BookingStatus, Consultation
from tests.factories import (
    BookingFactory,
    ClinicFactory,
    ConditionFactory,
    DoctorFactory,
    HypertensionClinicFactory,
    PatientFactory,
    SlotFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def chen():
    clinic = HypertensionClinicFactory(name="高血压云诊室", hospital__name="宁波市第一医院")
    doctor = DoctorFactory(hospital=clinic.hospital, clinics=[clinic], user__full_name="陈晓敏 Chen Xiaomin", fee=50)
    return clinic, doctor


@pytest.fixture
def daughter_client(client, family):
    daughter, father = family
    ConditionFactory(patient=father, icd10_code="I10")
    client.force_login(daughter.account)
    session = client.session
    session[SESSION_KEY] = father.pk
    session.save()
    return client


def _slot(doctor, clinic, *, starts_in=None, **kwargs):
    if starts_in is not None:
        start = timezone.now() + starts_in
        kwargs.update(starts_at=start, ends_at=start + timedelta(minutes=15))
    return SlotFactory(doctor=doctor, clinic=clinic, **kwargs)


def test_search_finds_doctor_and_clinic_by_pinyin_initials_and_chinese(daughter_client, chen):
    clinic, doctor = chen
    other = DoctorFactory(user__full_name="王芳 Wang Fang")
    by_initials = daughter_client.get("/care/", {"q": "cxm"}).content.decode()
    assert f'data-doctor="{doctor.pk}"' in by_initials and f'data-doctor="{other.pk}"' not in by_initials
    by_chinese = daughter_client.get("/care/", {"q": "高血压"}).content.decode()
    assert f'data-clinic="{clinic.pk}"' in by_chinese
    gxy = daughter_client.get("/care/", {"q": "gxy"}).content.decode()
    assert f'data-clinic="{clinic.pk}"' in gxy
    assert "Nothing found" in daughter_client.get("/care/", {"q": "zzzzq"}).content.decode()


def test_directory_walks_hospital_clinic_doctor_with_the_follow_up_notice(daughter_client, chen):
    clinic, doctor = chen
    slot = _slot(doctor, clinic)
    hospital_page = daughter_client.get(f"/care/hospitals/{clinic.hospital.pk}/").content.decode()
    assert f'href="/care/clinics/{clinic.pk}/"' in hospital_page and "Follow-up only" in hospital_page
    clinic_page = daughter_client.get(f"/care/clinics/{clinic.pk}/").content.decode()
    assert f'data-follow-up="{clinic.pk}"' in clinic_page and "I10-I15" in clinic_page
    assert f'data-doctor="{doctor.pk}"' in clinic_page
    doctor_page = daughter_client.get(f"/care/doctors/{doctor.pk}/").content.decode()
    assert "主任医师" in doctor_page and "50" in doctor_page and f'href="/care/slots/{slot.pk}/book/"' in doctor_page
    assert 'id="acting-for"' in doctor_page
    for url in ("/care/hospitals/999999/", "/care/clinics/999999/", "/care/doctors/999999/", "/care/slots/999999/book/"):
        assert daughter_client.get(url).status_code == 404


def test_booking_books_for_the_acted_for_patient_and_shows_the_queue_number(daughter_client, family, chen):
    _daughter, father = family
    clinic, doctor = chen
    slot = _slot(doctor, clinic)
    form = daughter_client.get(f"/care/slots/{slot.pk}/book/").content.decode()
    assert f'value="{father.pk}"' in form and father.full_name in form
    response = daughter_client.post(f"/care/slots/{slot.pk}/book/", {"patient": father.pk, "reason": "复诊开药", "key": "k1"})
    booking = Booking.objects.get(patient=father, slot=slot)
    assert response.status_code == 302 and response.url == f"/care/bookings/{booking.pk}/"
    page = daughter_client.get(response.url).content.decode()
    assert 'id="queue-number">1<' in page and 'data-action="reschedule"' in page and 'data-action="cancel"' in page
    # The same form sent twice (a double tap) books once.
    again = daughter_client.post(f"/care/slots/{slot.pk}/book/", {"patient": father.pk, "reason": "复诊开药", "key": "k1"})
    assert again.status_code == 302 and Booking.objects.filter(patient=father).count() == 1


def test_booking_for_a_patient_she_does_not_manage_is_a_404(daughter_client, chen, stranger):
    clinic, doctor = chen
    slot = _slot(doctor, clinic)
    response = daughter_client.post(f"/care/slots/{slot.pk}/book/", {"patient": stranger.pk, "reason": "复诊"})
    assert response.status_code == 404 and not Booking.objects.exists()


def test_booking_a_full_slot_shows_the_rule_in_plain_words(daughter_client, family, chen):
    _daughter, father = family
    clinic, doctor = chen
    slot = _slot(doctor, clinic, capacity=1)
    BookingFactory(slot=slot)
    response = daughter_client.post(f"/care/slots/{slot.pk}/book/", {"patient": father.pk, "reason": "复诊开药"})
    page = response.content.decode()
    assert response.status_code == 409
    assert "This slot is full; choose another." in page and 'data-code="slot_full"' in page
    assert "复诊开药" in page  # what she typed is kept
    assert not Booking.objects.filter(patient=father).exists()


def test_booking_refusals_reach_the_form(daughter_client, family, chen):
    daughter, father = family
    clinic, doctor = chen
    slot = _slot(doctor, clinic)
    blank = daughter_client.post(f"/care/slots/{slot.pk}/book/", {"patient": father.pk, "reason": "  "})
    assert blank.status_code == 400 and "Say briefly why" in blank.content.decode()
    # The daughter herself has no hypertension on record: the follow-up-only rule says so.
    follow_up = daughter_client.post(f"/care/slots/{slot.pk}/book/", {"patient": daughter.pk, "reason": "头晕"})
    assert follow_up.status_code == 422 and 'data-code="follow_up_only"' in follow_up.content.decode()
    far = _slot(doctor, clinic, starts_in=timedelta(days=30))
    beyond = daughter_client.post(f"/care/slots/{far.pk}/book/", {"patient": father.pk, "reason": "复诊"})
    assert beyond.status_code == 422 and 'data-code="beyond_booking_window"' in beyond.content.decode()
    daughter_client.post(f"/care/slots/{slot.pk}/book/", {"patient": father.pk, "reason": "复诊"})
    same_day = _slot(doctor, clinic, starts_at=slot.starts_at + timedelta(hours=1), ends_at=slot.ends_at + timedelta(hours=1))
    duplicate = daughter_client.post(f"/care/slots/{same_day.pk}/book/", {"patient": father.pk, "reason": "复诊"})
    assert duplicate.status_code == 409 and 'data-code="duplicate_booking"' in duplicate.content.decode()


def test_reschedule_moves_the_booking_and_refuses_a_full_slot(daughter_client, family, chen):
    _daughter, father = family
    clinic, doctor = chen
    booking = BookingFactory(patient=father, slot=_slot(doctor, clinic))
    free = _slot(doctor, clinic)
    full = _slot(doctor, clinic, capacity=1)
    BookingFactory(slot=full)
    page = daughter_client.get(f"/care/bookings/{booking.pk}/reschedule/").content.decode()
    assert f'value="{free.pk}"' in page and f'value="{full.pk}"' not in page
    refused = daughter_client.post(f"/care/bookings/{booking.pk}/reschedule/", {"slot": full.pk})
    assert refused.status_code == 409 and "This slot is full" in refused.content.decode()
    booking.refresh_from_db()
    assert booking.slot_id != full.pk
    moved = daughter_client.post(f"/care/bookings/{booking.pk}/reschedule/", {"slot": free.pk})
    assert moved.status_code == 302
    booking.refresh_from_db()
    assert booking.slot_id == free.pk and booking.status == BookingStatus.BOOKED
    assert daughter_client.post(f"/care/bookings/{booking.pk}/reschedule/", {}).status_code == 400


def test_cancelling_and_too_late_to_cancel(daughter_client, family, chen):
    _daughter, father = family
    clinic, doctor = chen
    soon = BookingFactory(patient=father, slot=_slot(doctor, clinic, starts_in=timedelta(minutes=60)))
    page = daughter_client.get(f"/care/bookings/{soon.pk}/").content.decode()
    assert 'data-action="cancel"' not in page and "until 2 hours before" in page
    refused = daughter_client.post(f"/care/bookings/{soon.pk}/cancel/")
    assert refused.status_code == 422 and 'data-code="too_late_to_cancel"' in refused.content.decode()
    later = BookingFactory(patient=father, slot=_slot(doctor, clinic, starts_in=timedelta(days=2)))
    assert daughter_client.post(f"/care/bookings/{later.pk}/cancel/").url == "/patient/"
    later.refresh_from_db()
    assert later.status == BookingStatus.CANCELLED


def test_someone_elses_booking_is_a_404_on_every_page(daughter_client, chen):
    clinic, doctor = chen
    other = BookingFactory(patient=PatientFactory(), slot=_slot(doctor, clinic, starts_in=timedelta(days=2)))
    for url in ("", "reschedule/", "waiting/"):
        assert daughter_client.get(f"/care/bookings/{other.pk}/{url}").status_code == 404
    for url in ("cancel/", "join/", "reschedule/"):
        assert daughter_client.post(f"/care/bookings/{other.pk}/{url}", {"slot": other.slot_id}).status_code == 404
    assert daughter_client.post(f"/patient/bookings/{other.pk}/check-in/").status_code == 404
    other.refresh_from_db()
    assert other.status == BookingStatus.BOOKED


def test_my_visits_lists_each_person_with_check_in_countdown_and_past_visits(daughter_client, family, chen):
    daughter, father = family
    clinic, doctor = chen
    later = BookingFactory(patient=father, slot=_slot(doctor, clinic, starts_in=timedelta(hours=3)))
    now_open = BookingFactory(patient=father, slot=_slot(doctor, ClinicFactory(hospital=clinic.hospital), starts_in=timedelta(minutes=10)))
    own = BookingFactory(patient=daughter, slot=_slot(doctor, ClinicFactory(hospital=clinic.hospital), starts_in=timedelta(days=3)))
    past = BookingFactory(patient=father, status=BookingStatus.COMPLETED,
                          slot=_slot(doctor, clinic, starts_at=timezone.now() - timedelta(days=7), ends_at=timezone.now() - timedelta(days=7, minutes=-15)))
    page = daughter_client.get("/patient/").content.decode()
    # Everyone she manages, each in their own section; the one she acts for first.
    assert 0 < page.index(f'data-patient="{father.pk}"') < page.index(f'data-patient="{daughter.pk}"')
    father_part = page.split(f'data-patient="{father.pk}"')[1].split('data-patient=')[0]
    assert f'data-booking="{later.pk}"' in father_part and f'data-booking="{own.pk}"' not in father_part
    later_card = page.split(f'data-booking="{later.pk}"')[1].split('data-booking=')[0]
    assert "data-check-in-opens" in later_card and "countdown-clock" in later_card and 'data-action="check-in"' not in later_card
    open_card = page.split(f'data-booking="{now_open.pk}"')[1].split('data-booking=')[0]
    assert 'data-action="check-in"' in open_card
    assert f'data-past-booking="{past.pk}"' in page


def test_check_in_before_the_window_shows_when_it_opens(daughter_client, family, chen):
    _daughter, father = family
    clinic, doctor = chen
    booking = BookingFactory(patient=father, slot=_slot(doctor, clinic, starts_in=timedelta(hours=3)))
    response = daughter_client.post(f"/patient/bookings/{booking.pk}/check-in/")
    page = response.content.decode()
    assert response.status_code == 422 and "Check-in opens at" in page and f'id="refusal-{booking.pk}"' in page
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED


def test_check_in_leads_to_the_waiting_room_with_her_place_and_join(daughter_client, family, chen):
    _daughter, father = family
    clinic, doctor = chen
    slot = _slot(doctor, clinic, starts_in=timedelta(minutes=10))
    ahead = BookingFactory(slot=slot, status=BookingStatus.CHECKED_IN)
    booking = BookingFactory(patient=father, slot=slot)
    # Not checked in yet: the waiting room sends her to the booking (and its check-in).
    assert daughter_client.get(f"/care/bookings/{booking.pk}/waiting/").url == f"/care/bookings/{booking.pk}/"
    response = daughter_client.post(f"/patient/bookings/{booking.pk}/check-in/")
    assert response.status_code == 302 and response.url == f"/care/bookings/{booking.pk}/waiting/"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN and booking.queue_number > ahead.queue_number
    page = daughter_client.get(response.url).content.decode()
    assert 'data-ahead="1"' in page and 'hx-trigger="every 10s"' in page and 'id="join-video"' in page
    fragment = daughter_client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="waiting-status"') and "<html" not in fragment
    joined = daughter_client.post(f"/care/bookings/{booking.pk}/join/")
    consultation = Consultation.objects.get(booking=booking)
    assert joined.url == f"/consult/{consultation.pk}/"


def test_pages_need_a_login(client):
    for url in ("/care/", "/care/doctors/1/", "/care/bookings/1/", "/care/bookings/1/waiting/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/")


def test_my_visits_and_the_directory_run_a_bounded_number_of_queries(daughter_client, family, chen, django_assert_max_num_queries):
    _daughter, father = family
    clinic, doctor = chen
    for days in range(1, 6):
        BookingFactory(patient=father, slot=_slot(doctor, clinic, starts_in=timedelta(days=days)))
        _slot(doctor, clinic, starts_in=timedelta(days=days, hours=1))
    for _ in range(5):
        DoctorFactory(hospital=clinic.hospital, clinics=[clinic])
    with django_assert_max_num_queries(30):
        assert daughter_client.get("/patient/").status_code == 200
    with django_assert_max_num_queries(15):
        assert daughter_client.get(f"/care/clinics/{clinic.pk}/").status_code == 200
    with django_assert_max_num_queries(15):
        assert daughter_client.get(f"/care/doctors/{doctor.pk}/").status_code == 200
    with django_assert_max_num_queries(15):
        assert daughter_client.get("/care/", {"q": "gxy"}).status_code == 200
