"""The web pages: who may open which, and that they act through the same domain rules."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consult.models import BookingStatus, Consultation
from tests.consult.rooms import make_room
from tests.factories import PASSWORD, PatientFactory

pytestmark = pytest.mark.django_db


def test_login_page_accepts_a_phone_typed_any_way_and_routes_by_role(client):
    room = make_room()
    room.doctor_user.set_password(PASSWORD)
    room.doctor_user.save()
    national = room.doctor_user.phone[3:]
    response = client.post("/login/", {"username": f"{national[:3]}-{national[3:7]}-{national[7:]}", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/home/").url == "/portal/"
    # The room's slot starts in a few minutes: after midnight when the suite runs at 23:55.
    portal = client.get("/portal/", {"date": timezone.localtime(room.booking.slot.starts_at).date().isoformat()})
    assert portal.status_code == 200 and room.patient.full_name in portal.content.decode()


def test_portal_shows_the_day_asked_for_and_refuses_a_bad_date(client):
    from tests.factories import BookingFactory

    booking = BookingFactory()  # tomorrow
    client.force_login(booking.slot.doctor.user)
    tomorrow = timezone.localtime(booking.slot.starts_at).date()
    today = client.get("/portal/").content.decode()
    assert booking.patient.full_name not in today and "No bookings today." in today
    that_day = client.get("/portal/", {"date": tomorrow.isoformat()}).content.decode()
    assert booking.patient.full_name in that_day and f"?date={(tomorrow + timedelta(days=1)).isoformat()}" in that_day
    for bad in ("2026-13-01", "tomorrow", "0001-01-01"):
        response = client.get("/portal/", {"date": bad})
        assert response.status_code == 400


def test_portal_is_for_doctors_only(client):
    client.force_login(PatientFactory().account)
    assert client.get("/portal/").status_code == 403
    assert client.get("/portal/").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    for url in ("/portal/", "/patient/", "/consult/1/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/")


def test_family_checks_in_from_their_page_waits_and_joins_the_room(client):
    room = make_room(checked_in=False, open_consultation=False)
    client.force_login(room.proxy)
    page = client.get("/patient/").content.decode()
    assert f'data-booking="{room.booking.pk}"' in page and "check-in" in page
    response = client.post(f"/patient/bookings/{room.booking.pk}/check-in/")
    consultation = Consultation.objects.get(booking=room.booking)
    # Checking in leads to the waiting room (her place in the queue); joining, to the room.
    assert response.url == f"/care/bookings/{room.booking.pk}/waiting/"
    room.booking.refresh_from_db()
    assert room.booking.status == BookingStatus.CHECKED_IN
    joined = client.post(f"/care/bookings/{room.booking.pk}/join/")
    assert joined.url == f"/consult/{consultation.pk}/"
    assert client.get(joined.url).status_code == 200


def test_check_in_too_early_is_refused_with_a_message(client):
    room = make_room(starts_in=timedelta(hours=3), checked_in=False, open_consultation=False)
    client.force_login(room.proxy)
    response = client.post(f"/patient/bookings/{room.booking.pk}/check-in/", follow=True)
    assert "Check-in opens" in response.content.decode()
    room.booking.refresh_from_db()
    assert room.booking.status == BookingStatus.BOOKED


def test_strangers_cannot_check_in_open_or_enter_another_familys_room(client):
    room = make_room()
    other = make_room()
    client.force_login(PatientFactory().account)
    assert client.post(f"/patient/bookings/{room.booking.pk}/check-in/").status_code == 404
    assert client.get(f"/consult/{room.consultation.pk}/").status_code == 404
    client.force_login(other.doctor_user)
    assert client.post(f"/portal/bookings/{room.booking.pk}/open/").status_code == 404
    assert client.get(f"/consult/{room.consultation.pk}/").status_code == 404


def test_room_page_carries_the_config_for_the_script(client):
    room = make_room()
    client.force_login(room.doctor_user)
    html = client.get(f"/consult/{room.consultation.pk}/").content.decode()
    assert 'id="room-config"' in html and '"role": "doctor"' in html
    assert "consult/room.js" in html and 'id="notes-form"' in html
    client.force_login(room.proxy)
    family_html = client.get(f"/consult/{room.consultation.pk}/").content.decode()
    assert 'id="notes-form"' not in family_html
