from django.urls import path, re_path

from cloudhospital.api import second_factor, views

urlpatterns = [
    path("auth/login/", views.LoginView.as_view(), name="auth-login"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("auth/tokens/", views.DeviceTokenListView.as_view(), name="auth-token-list"),
    path("auth/second-factor/", second_factor.SecondFactorView.as_view(), name="auth-second-factor"),
    path("auth/second-factor/confirm/", second_factor.SecondFactorConfirmView.as_view(),
         name="auth-second-factor-confirm"),
    path("auth/second-factor/verify/", second_factor.SecondFactorVerifyView.as_view(),
         name="auth-second-factor-verify"),
    # A token id is what the device list shows (knox's token_key): anything else is no URL, so
    # a NUL or a 10 kB id never reaches the database.
    re_path(r"^auth/tokens/(?P<token_key>[0-9A-Za-z_-]{1,64})/$", views.DeviceTokenView.as_view(),
            name="auth-token-detail"),
]
