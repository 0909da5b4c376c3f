"""The input forms of the family's account, people and health-record pages.

They only parse what was typed; every rule (ID number checksum, mobile format, password
strength, plausible readings, a required reason) is the domain function's, whose refusal
`cloudhospital.web.refusal_into_form` puts at the field it names.
"""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consult.models import Relationship

# How the family names what the patient is to them (the model's labels are not translated).
RELATIONSHIP_LABELS = {
    Relationship.PARENT: _("Parent (father or mother)"),
    Relationship.SPOUSE: _("Spouse"),
    Relationship.CHILD: _("Child"),
    # A child in my legal guardianship (监护): with Child, who may bring a child under 6 online.
    Relationship.WARD: _("Ward (a child in my legal guardianship)"),
    Relationship.OTHER: _("Other relative"),
}
LOCAL_MINUTE = "%Y-%m-%dT%H:%M"


def _text(label, *, required=True, max_length=64, **attrs):
    return forms.CharField(label=label, required=required, max_length=max_length,
                           widget=forms.TextInput(attrs=attrs))


class RegisterForm(forms.Form):
    full_name = _text(_("Real name (as on the ID card)"), autocomplete="name")
    id_number = _text(_("Resident ID number"), max_length=18, autocomplete="off", autocapitalize="characters",
                      spellcheck="false")
    phone = _text(_("Mobile phone"), max_length=20, autocomplete="tel", inputmode="tel")
    password = forms.CharField(label=_("Password"), max_length=128, strip=False,
                               help_text=_("At least 8 characters, not only digits, not like your phone or name."),
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_confirm = forms.CharField(label=_("Password again"), max_length=128, strip=False,
                                       widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password_confirm") and data["password"] != data["password_confirm"]:
            self.add_error("password_confirm", _("The two passwords are not the same; please type them again."))
        return data


class DependantForm(forms.Form):
    full_name = _text(_("Their real name (as on the ID card)"))
    id_number = _text(_("Their resident ID number"), max_length=18, autocomplete="off",
                      autocapitalize="characters", spellcheck="false")
    relationship = forms.ChoiceField(label=_("They are my"), choices=list(RELATIONSHIP_LABELS.items()))
    phone = _text(_("Their mobile phone (optional)"), required=False, max_length=20, autocomplete="off",
                  inputmode="tel")


class ReadingForm(forms.Form):
    """A home blood-pressure reading. The numbers are checked by the domain
    (consult.records.validate_blood_pressure), not here, so the page and the API agree."""

    systolic = forms.IntegerField(label=_("Systolic (high) mmHg"), required=False,
                                  widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    diastolic = forms.IntegerField(label=_("Diastolic (low) mmHg"), required=False,
                                   widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    pulse = forms.IntegerField(label=_("Pulse (optional)"), required=False,
                               widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    measured_at = forms.DateTimeField(label=_("Measured at"), required=False, input_formats=[LOCAL_MINUTE],
                                      widget=forms.DateTimeInput(format=LOCAL_MINUTE, attrs={"type": "datetime-local"}))

    def clean_measured_at(self):
        return self.cleaned_data.get("measured_at") or timezone.now()


class EnteredInErrorForm(forms.Form):
    reason = forms.CharField(label=_("What was wrong with it?"), required=False, max_length=200,
                             widget=forms.TextInput(attrs={"autocomplete": "off"}))
