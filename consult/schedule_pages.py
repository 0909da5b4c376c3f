"""The doctor's own schedule page: weekly sessions, leave, and the coming days' capacity.

Thin, like the schedule API (consult.api.schedules): the objects come from
`doctors_managed_by` (a doctor manages their own schedule, as do their hospital's admins),
and every change is one call into consult.schedules, whose refusals land next to the field.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cloudhospital.errors import DomainError
from cloudhospital.web import refusal_into_form
from consult import schedules
from consult.doctor_forms import WEEKDAY_LABELS, LeaveForm, ScheduleTemplateForm
from consult.models import LeaveBlock, ScheduleTemplate
from consult.pages import portal_doctor
from consult.permissions import doctors_managed_by
from consult.selectors import doctor_days_ahead

DAYS_AHEAD = 14


def _own_templates(user):
    return ScheduleTemplate.objects.filter(doctor__in=doctors_managed_by(user).filter(user=user).values("pk"))


def _own_leaves(user):
    return LeaveBlock.objects.filter(doctor__in=doctors_managed_by(user).filter(user=user).values("pk"))


def _render(request, doctor, *, template_form=None, leave_form=None, status=200):
    today = timezone.localdate()
    templates = list(_own_templates(request.user).select_related("clinic").order_by("weekday", "start_time"))
    for t in templates:
        t.weekday_label = WEEKDAY_LABELS.get(t.weekday, t.weekday)
    days = doctor_days_ahead(doctor, first=today, days=DAYS_AHEAD)
    leaves = list(_own_leaves(request.user).filter(ends_on__gte=today).order_by("starts_on"))
    for day in days:
        day["weekday_label"] = WEEKDAY_LABELS.get(day["day"].weekday())
        day["on_leave"] = any(leave.starts_on <= day["day"] <= leave.ends_on for leave in leaves)
    return render(request, "consult/doctor/schedule.html", {
        "doctor": doctor, "templates": templates, "leaves": leaves, "days": days, "days_ahead": DAYS_AHEAD,
        "template_form": template_form or ScheduleTemplateForm(doctor=doctor),
        "leave_form": leave_form or LeaveForm(initial={"starts_on": today, "ends_on": today}),
    }, status=status)


@login_required
def schedule(request):
    """The doctor's weekly sessions, leave and the next DAYS_AHEAD days."""
    return _render(request, portal_doctor(request.user))


@login_required
@require_POST
def template_add(request):
    doctor = portal_doctor(request.user)
    form = ScheduleTemplateForm(request.POST, doctor=doctor)
    if form.is_valid():
        fields = dict(form.cleaned_data)
        fields.pop("active", None)  # a new session is active, as in the API
        try:
            schedules.schedule_template_create(by=request.user, doctor=doctor, **fields)
        except DomainError as exc:
            refusal_into_form(form, exc)
        else:
            messages.success(request, _("Session added; its slots appear shortly."))
            return redirect("portal-schedule")
    return _render(request, doctor, template_form=form, status=400)


def _own_template(request, template_id: int) -> ScheduleTemplate:
    template = _own_templates(request.user).select_related("clinic", "doctor").filter(pk=template_id).first()
    if template is None:
        raise Http404("No such session.")
    return template


@login_required
def template_edit(request, template_id: int):
    """Change one weekly session (GET: the form; POST: save)."""
    doctor = portal_doctor(request.user)
    template = _own_template(request, template_id)
    status = 200
    if request.method == "POST":
        form = ScheduleTemplateForm(request.POST, doctor=doctor)
        if form.is_valid():
            changes = dict(form.cleaned_data)
            if changes["fee"] is None:
                changes.pop("fee")
            try:
                schedules.schedule_template_update(by=request.user, template=template, **changes)
            except DomainError as exc:
                refusal_into_form(form, exc)
            else:
                messages.success(request, _("Session saved."))
                return redirect("portal-schedule")
        status = 400
    else:
        form = ScheduleTemplateForm(doctor=doctor, initial={
            "clinic": template.clinic_id, "weekday": template.weekday, "start_time": template.start_time,
            "end_time": template.end_time, "slot_minutes": template.slot_minutes, "capacity": template.capacity,
            "fee": template.fee, "active": template.active,
        })
    return render(request, "consult/doctor/template_edit.html",
                  {"doctor": doctor, "template": template, "form": form,
                   "weekday_label": WEEKDAY_LABELS.get(template.weekday)}, status=status)


@login_required
@require_POST
def template_delete(request, template_id: int):
    portal_doctor(request.user)
    schedules.schedule_template_delete(by=request.user, template=_own_template(request, template_id))
    messages.success(request, _("Session removed. Booked visits keep their slots."))
    return redirect("portal-schedule")


@login_required
@require_POST
def leave_add(request):
    doctor = portal_doctor(request.user)
    form = LeaveForm(request.POST)
    if form.is_valid():
        try:
            result = schedules.leave_block_create(by=request.user, doctor=doctor, **form.cleaned_data)
        except DomainError as exc:
            refusal_into_form(form, exc)
        else:
            messages.success(request, _("Leave added: %(slots)s slots closed, %(bookings)s bookings cancelled and their families told.")
                             % {"slots": result.slots_closed, "bookings": result.bookings_cancelled})
            return redirect("portal-schedule")
    return _render(request, doctor, leave_form=form, status=400)


@login_required
@require_POST
def leave_lift(request, leave_id: int):
    doctor = portal_doctor(request.user)
    leave = _own_leaves(request.user).filter(pk=leave_id).first()
    if leave is None:
        raise Http404("No such leave.")
    try:
        reopened = schedules.leave_block_lift(by=request.user, leave=leave)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _render(request, doctor, status=409)
    messages.success(request, _("Leave lifted: %(slots)s slots open again.") % {"slots": reopened})
    return redirect("portal-schedule")
