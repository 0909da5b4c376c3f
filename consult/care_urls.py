"""The family's find-care, booking and waiting-room pages (consult.care_pages). "My visits"
(/patient/) and checking in are in consult.page_urls."""

from django.urls import path

from consult import care_pages

urlpatterns = [
    path("care/", care_pages.care_hospitals, name="care-hospitals"),
    path("care/hospitals/<int:hospital_id>/", care_pages.care_hospital, name="care-hospital"),
    path("care/clinics/<int:clinic_id>/", care_pages.care_clinic, name="care-clinic"),
    path("care/doctors/<int:doctor_id>/", care_pages.care_doctor, name="care-doctor"),
    path("care/slots/<int:slot_id>/book/", care_pages.care_book, name="care-book"),
    path("care/bookings/<int:booking_id>/", care_pages.care_booking, name="care-booking"),
    path("care/bookings/<int:booking_id>/cancel/", care_pages.care_cancel, name="care-cancel"),
    path("care/bookings/<int:booking_id>/reschedule/", care_pages.care_reschedule, name="care-reschedule"),
    path("care/bookings/<int:booking_id>/waiting/", care_pages.care_waiting, name="care-waiting"),
    path("care/bookings/<int:booking_id>/join/", care_pages.care_join, name="care-join"),
]
