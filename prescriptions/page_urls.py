from django.urls import path

from prescriptions import pages

urlpatterns = [
    path("prescriptions/<int:prescription_id>/print/", pages.prescription_print, name="prescription-print"),
]
