from django.urls import path

from consult import pages

urlpatterns = [
    path("portal/", pages.portal, name="portal"),
    path("portal/bookings/<int:booking_id>/open/", pages.portal_open, name="portal-open"),
    path("patient/", pages.patient_home, name="patient-home"),
    path("patient/bookings/<int:booking_id>/check-in/", pages.patient_check_in, name="patient-check-in"),
    path("consult/<int:consultation_id>/", pages.room, name="consult-room"),
    path("patients/<int:patient_id>/bp/", pages.bp_trend_page, name="patient-bp-trend"),
]
