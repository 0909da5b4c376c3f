from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from cloudhospital import pages, probes, second_factor_pages
from cloudhospital.forms import AdminPhoneAuthenticationForm, PhoneAuthenticationForm

from cloudhospital.api.episode import PatientFhirView
from cloudhospital.api.errors import api_not_found
from cloudhospital.api.notifications import NotificationListView
from consult.api.asyncapi import AsyncApiView

admin.site.site_header = "Cloud Hospital administration"
admin.site.site_title = "Cloud Hospital"
admin.site.login_form = AdminPhoneAuthenticationForm  # the phone as printed: 13900000000

api_patterns = [
    path("", include("cloudhospital.api.urls")),
    path("", include("consult.api.urls")),
    path("notifications/", NotificationListView.as_view(), name="notification-list"),
    path("patients/<int:patient_pk>/fhir/", PatientFhirView.as_view(), name="patient-fhir"),
    path("", include("pharmacy.api.urls")),
    path("", include("prescriptions.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("schema/asyncapi/", AsyncApiView.as_view(), name="schema-asyncapi"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Last: any other /api/ path is a 404 in the API's error shape, with DEBUG on too (Django
    # shows its HTML debug page instead of handler404 then).
    re_path(r"^.*$", api_not_found, name="api-not-found"),
]

urlpatterns = [
    path("", TemplateView.as_view(template_name="cloudhospital/landing.html"), name="landing"),
    # Probes for the load balancer and Prometheus (cloudhospital.probes); no login, no patient data.
    path("healthz", probes.healthz, name="healthz"),
    path("readyz", probes.readyz, name="readyz"),
    path("metrics", probes.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="cloudhospital/login.html", authentication_form=PhoneAuthenticationForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("home/", pages.home, name="home"),
    path("account/", pages.account, name="account"),
    path("account/second-factor/", second_factor_pages.second_factor, name="second-factor"),
    path("account/second-factor/verify/", second_factor_pages.second_factor_verify, name="second-factor-verify"),
    path("preferences/", pages.preferences, name="preferences"),
    # The pages, app by app (each app's own URL modules).
    path("", include("consult.page_urls")),
    path("", include("consult.care_urls")),
    path("", include("consult.consent_urls")),
    path("", include("prescriptions.page_urls")),
    path("", include("prescriptions.prescribing_urls")),
    path("", include("prescriptions.review_urls")),
    path("", include("pharmacy.page_urls")),
    path("", include("pharmacy.counter_urls")),
    path("api/", include(api_patterns)),
]

# An unknown /api/ path (or a crash under it) answers in the API's error shape.
handler404 = "cloudhospital.api.errors.api_not_found"
handler500 = "cloudhospital.api.errors.api_server_error"
