from django.urls import path

from consult import family_pages, pages, record_pages

urlpatterns = [
    # The clinician portal and the consultation room.
    path("portal/", pages.portal, name="portal"),
    path("portal/bookings/<int:booking_id>/open/", pages.portal_open, name="portal-open"),
    path("consult/<int:consultation_id>/", pages.room, name="consult-room"),
    path("patients/<int:patient_id>/bp/", pages.bp_trend_page, name="patient-bp-trend"),
    # The family: visits, and their people and record.
    path("patient/", family_pages.patient_home, name="patient-home"),
    path("patient/bookings/<int:booking_id>/check-in/", family_pages.patient_check_in, name="patient-check-in"),
    path("patient/acting-for/", record_pages.patient_act_for, name="patient-act-for"),
]
