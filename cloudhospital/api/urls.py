from django.urls import path

from cloudhospital.api import views

urlpatterns = [
    path("auth/login/", views.LoginView.as_view(), name="auth-login"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("auth/tokens/", views.DeviceTokenListView.as_view(), name="auth-token-list"),
    path("auth/tokens/<str:token_key>/", views.DeviceTokenView.as_view(), name="auth-token-detail"),
]
