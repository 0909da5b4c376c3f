from django.urls import path

from prescriptions import family_pages, pages

urlpatterns = [
    path("prescriptions/<int:prescription_id>/print/", pages.prescription_print, name="prescription-print"),
    path("patient/prescriptions/<int:prescription_id>/confirm/", family_pages.prescription_confirm,
         name="prescription-family-confirm"),
]
