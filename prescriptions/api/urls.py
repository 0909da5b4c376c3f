from django.urls import path
from rest_framework.routers import DefaultRouter

from prescriptions.api import chronic, views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("drugs", views.DrugViewSet, basename="drug")
router.register("signing-keys", views.SigningKeyViewSet, basename="signing-key")
router.register("prescriptions", views.PrescriptionViewSet, basename="prescription")

urlpatterns = [
    path("patients/<int:patient_pk>/bp-trend/", chronic.BpTrendView.as_view(), name="patient-bp-trend"),
    *router.urls,
]
