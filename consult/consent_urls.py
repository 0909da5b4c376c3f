"""The family's consent pages (consult.consent_pages)."""

from django.urls import path

from consult import consent_pages

urlpatterns = [
    path("care/slots/<int:slot_id>/consent/", consent_pages.care_consent, name="care-consent"),
    path("patient/<int:patient_id>/consents/", consent_pages.patient_consents, name="family-consents"),
    path("patient/<int:patient_id>/consents/<int:consent_id>/revoke/", consent_pages.patient_consent_revoke,
         name="family-consent-revoke"),
    path("patient/<int:patient_id>/activity/", consent_pages.patient_activity_page, name="family-activity"),
]
