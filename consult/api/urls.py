from django.urls import path
from rest_framework.routers import DefaultRouter

from consult.api import accounts, bookings, consultations, directory, patients, recordings, schedules
from consult.api import consents, evidence

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("patients", patients.PatientViewSet, basename="patient")
router.register("hospitals", directory.HospitalViewSet, basename="hospital")
router.register("clinics", directory.ClinicViewSet, basename="clinic")
router.register("doctors", directory.DoctorViewSet, basename="doctor")
router.register("slots", directory.SlotViewSet, basename="slot")
router.register("bookings", bookings.BookingViewSet, basename="booking")
router.register("schedule-templates", schedules.ScheduleTemplateViewSet, basename="schedule-template")
router.register("leaves", schedules.LeaveViewSet, basename="leave")
router.register("consultations", consultations.ConsultationViewSet, basename="consultation")


def nested(prefix: str, viewset, name: str):
    base = f"patients/<int:patient_pk>/{prefix}/"
    return [
        path(base, viewset.as_view({"get": "list", "post": "create"}), name=f"{name}-list"),
        path(f"{base}<int:pk>/", viewset.as_view({"get": "retrieve", "patch": "partial_update"}), name=f"{name}-detail"),
    ]


urlpatterns = [
    path("auth/register/", accounts.RegisterView.as_view(), name="auth-register"),
    path("auth/me/", accounts.MeView.as_view(), name="auth-me"),
    *router.urls,
    *nested("conditions", patients.ConditionViewSet, "condition"),
    *nested("allergies", patients.AllergyViewSet, "allergy"),
    *nested("medications", patients.MedicationViewSet, "medication"),
    *nested("observations", patients.ObservationViewSet, "observation"),
    path("patients/<int:patient_pk>/observations/<int:pk>/entered-in-error/",
         patients.ObservationViewSet.as_view({"post": "entered_in_error"}), name="observation-entered-in-error"),
    path("doctor/worklist/", bookings.WorklistView.as_view(), name="doctor-worklist"),
    path("consents/current/", consents.CurrentConsentView.as_view(), name="consent-current"),
    path("patients/<int:patient_pk>/consents/", consents.PatientConsentsView.as_view(), name="patient-consents"),
    path("patients/<int:patient_pk>/proxy-consents/", consents.ProxyConsentsView.as_view(), name="patient-proxy-consents"),
    path("patients/<int:patient_pk>/proxy-consents/<int:pk>/revoke/", consents.ProxyConsentRevokeView.as_view(),
         name="patient-proxy-consent-revoke"),
    path("patients/<int:patient_pk>/proxy-consents/<int:pk>/fhir/", consents.ProxyConsentFhirView.as_view(),
         name="patient-proxy-consent-fhir"),
    path("patients/<int:patient_pk>/activity/", consents.PatientActivityView.as_view(), name="patient-activity"),
    # The offline diagnosis's evidence files (consult.follow_up).
    path("patients/<int:patient_pk>/conditions/<int:condition_pk>/evidence/", evidence.ConditionEvidenceView.as_view(),
         name="condition-evidence"),
    path("patients/<int:patient_pk>/evidence/<int:pk>/file/", evidence.ConditionEvidenceFileView.as_view(),
         name="condition-evidence-file"),
    # Consult recordings (consult.recording): consent, the doctor's browser's upload, playback.
    path("consultations/<int:consultation_id>/recording-consent/", recordings.RecordingConsentView.as_view(),
         name="consultation-recording-consent"),
    path("consultations/<int:consultation_id>/recordings/", recordings.RecordingListView.as_view(),
         name="consultation-recordings"),
    path("recordings/<int:recording_id>/chunks/<int:seq>/", recordings.RecordingChunkView.as_view(),
         name="recording-chunk"),
    path("recordings/<int:recording_id>/complete/", recordings.RecordingCompleteView.as_view(), name="recording-complete"),
    path("recordings/<int:recording_id>/playback/", recordings.RecordingPlaybackView.as_view(), name="recording-playback"),
    path("recordings/<int:recording_id>/file/", recordings.RecordingFileView.as_view(), name="recording-file"),
]
