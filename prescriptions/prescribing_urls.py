"""The doctor's prescribing panel (htmx fragments inside the consultation room), the
portal's notices of rejected prescriptions, and the patient's prescription history."""

from django.urls import path

from prescriptions import prescribing_pages as pages

urlpatterns = [
    path("consult/<int:consultation_id>/prescribing/", pages.panel, name="prescribing-panel"),
    path("consult/<int:consultation_id>/prescribing/drugs/", pages.drug_search, name="prescribing-drug-search"),
    path("consult/<int:consultation_id>/prescribing/edit/", pages.draft_edit, name="prescribing-edit"),
    path("consult/<int:consultation_id>/prescribing/check/", pages.draft_check, name="prescribing-check"),
    path("consult/<int:consultation_id>/prescribing/save/", pages.draft_save, name="prescribing-save"),
    path("consult/<int:consultation_id>/prescribing/sign/", pages.draft_sign, name="prescribing-sign"),
    path("consult/<int:consultation_id>/prescribing/<int:prescription_id>/void/", pages.prescription_void,
         name="prescribing-void"),
    path("consult/<int:consultation_id>/prescribing/<int:prescription_id>/revise/", pages.prescription_revise,
         name="prescribing-revise"),
    path("consult/<int:consultation_id>/prescription-history/", pages.history, name="prescription-history"),
    path("portal/prescription-notices/", pages.portal_notices, name="prescribing-portal-notices"),
]
