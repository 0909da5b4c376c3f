from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from cloudhospital.identity import IdentityError, normalise_mobile


class PhoneAuthenticationForm(AuthenticationForm):
    """The web login: people type their phone number however they write it."""

    username = forms.CharField(label="Mobile phone 手机号", max_length=20, widget=forms.TextInput(attrs={"autofocus": True, "inputmode": "tel", "autocomplete": "username"}))

    def clean_username(self):
        try:
            return normalise_mobile(self.cleaned_data["username"])
        except IdentityError as exc:
            raise forms.ValidationError(str(exc)) from None


class AdminPhoneAuthenticationForm(PhoneAuthenticationForm, AdminAuthenticationForm):
    """The admin's login (AdminSite.login_form): the phone as the web login reads it
    (13900000000, 139-0000-0000 or +86 139 0000 0000), and, as the admin's own form
    requires, only for staff accounts."""
