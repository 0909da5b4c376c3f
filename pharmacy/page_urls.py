# Filled in by the page work of issues 13/14.
from django.urls import path

from pharmacy import family_pages
from pharmacy import verify_pages

urlpatterns = [
    # The family after a visit: the summary, getting the medicine, following orders, messages.
    path("patient/visits/<int:booking_id>/", family_pages.visit_summary, name="family-visit"),
    path("patient/medicines/", family_pages.medicines, name="family-medicines"),
    path("patient/medicines/<int:prescription_id>/order/", family_pages.medicine_order, name="family-medicine-order"),
    path("patient/orders/<int:order_id>/", family_pages.order_detail, name="family-order"),
    path("patient/orders/<int:order_id>/cancel/", family_pages.order_cancel, name="family-order-cancel"),
    path("patient/notifications/", family_pages.notifications, name="family-notifications"),
    # The paper prescription's QR (no login; the code is signed): prescriptions/pages.py links it by name.
    path("verify/<str:code>/", verify_pages.prescription_paper_verify, name="prescription-paper-verify"),
]
