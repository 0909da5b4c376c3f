"""The doctor portal's forms: input shape only. The rules (who may, what is allowed) are
the domain functions' (consult.consultation, consult.schedules), whose refusals the pages
put next to the field they name (cloudhospital.web.refusal_into_form)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from consult.models import Weekday

# Follow-up intervals a doctor picks from (days): as needed, days, weeks, months.
FOLLOW_UP_CHOICES = [
    ("", _("As needed (no fixed date)")),
    ("3", _("In 3 days")),
    ("7", _("In 1 week")),
    ("14", _("In 2 weeks")),
    ("28", _("In 4 weeks")),
    ("56", _("In 8 weeks")),
    ("90", _("In 3 months")),
]

WEEKDAY_LABELS = {
    Weekday.MONDAY: _("Monday"), Weekday.TUESDAY: _("Tuesday"), Weekday.WEDNESDAY: _("Wednesday"),
    Weekday.THURSDAY: _("Thursday"), Weekday.FRIDAY: _("Friday"), Weekday.SATURDAY: _("Saturday"),
    Weekday.SUNDAY: _("Sunday"),
}


class EndVisitForm(forms.Form):
    follow_up_advice = forms.CharField(label=_("Advice for the patient and family"), required=False, max_length=5000,
                                       widget=forms.Textarea(attrs={"rows": 3}))
    follow_up_interval_days = forms.TypedChoiceField(label=_("Follow-up visit"), choices=FOLLOW_UP_CHOICES,
                                                     required=False, coerce=int, empty_value=None)


class ReferOfflineForm(forms.Form):
    reason = forms.CharField(label=_("Why an in-person visit is needed"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": _("Say why the patient should be seen in person; the family will read it.")})
    department = forms.CharField(label=_("Department to visit in person"), max_length=80,
                                 widget=forms.TextInput(attrs={"placeholder": _("e.g. Cardiology outpatients")}),
                                 error_messages={"required": _("Name the department the patient should visit in person.")})


class ScheduleTemplateForm(forms.Form):
    clinic = forms.ModelChoiceField(label=_("Clinic"), queryset=None, empty_label=None)
    weekday = forms.TypedChoiceField(label=_("Weekday"), choices=list(WEEKDAY_LABELS.items()), coerce=int)
    start_time = forms.TimeField(label=_("Starts at"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end_time = forms.TimeField(label=_("Ends at"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    slot_minutes = forms.IntegerField(label=_("Minutes per slot"), initial=15, min_value=1, max_value=600)
    capacity = forms.IntegerField(label=_("Patients per slot"), initial=1, min_value=1, max_value=1000)
    fee = forms.DecimalField(label=_("Fee (yuan)"), required=False, min_value=0, max_digits=8, decimal_places=2,
                             help_text=_("Empty: your usual fee."))
    active = forms.BooleanField(label=_("Active (slots are offered)"), required=False, initial=True)

    def __init__(self, *args, doctor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = doctor.clinics.filter(is_active=True).order_by("id")


class LeaveForm(forms.Form):
    starts_on = forms.DateField(label=_("First day"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Last day"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("Reason (booked patients will see it)"), max_length=200, required=False)
