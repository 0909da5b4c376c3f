"""The review pharmacist's workbench (审方工作台): the queue of signed prescriptions and one
page per prescription to approve it or send it back to the doctor with a reason.

Only the hospital's review pharmacists (`prescriptions.review`, the rule the API's review
endpoints ask): anyone else gets 403. Reads go through the API's selectors
(`review_queue`, `prescription_for`, which logs the read), writes through
`prescription_approve` / `prescription_reject`, and what may be done now through
`prescription_allowed_actions`; a refusal comes back at the field it names.
"""

from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cloudhospital.api.errors import HTTP_STATUS
from cloudhospital.errors import DomainError
from cloudhospital.permissions import allowed
from cloudhospital.web import refusal_into_form
from consult.selectors import record_summary
from prescriptions import lifecycle
from prescriptions.checks import BLOCK, patient_facts
from prescriptions.models import Prescription
from prescriptions.paper import frequency_label, sex_label, status_label, status_now
from prescriptions.permissions import prescriptions_visible_to
from prescriptions.selectors import prescription_for, prescriptions_for_display, review_queue

# The HX-Trigger event after a decision: the queue on the page reloads at once.
QUEUE_CHANGED = "review-queue-changed"
# What a line of a prescription is compared on between two versions.
ITEM_FIELDS = ("dose", "dose_unit", "frequency", "route", "days_supply", "quantity", "instructions")


class DecisionForm(forms.Form):
    """The pharmacist's note (approve: optional) or reason (reject: the domain requires one,
    so the refusal comes from `prescription_reject`, not from the form)."""

    reason = forms.CharField(
        label=gettext_lazy("Review note"), required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": lifecycle.REASON_MAX}),
    )


def login_required_htmx(view):
    """login_required, except that an htmx request (the queue's poll, a decision) after the
    session ended is told to load the login page instead of swapping it into the panel."""
    page_view = login_required(view)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.htmx and not request.user.is_authenticated:
            response = HttpResponse(status=200)
            response["HX-Redirect"] = f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': request.htmx.current_url_abs_path or request.path})}"
            return response
        return page_view(request, *args, **kwargs)

    return wrapped


def _reviewer(request):
    if not allowed("prescriptions.review", request.user):
        raise PermissionDenied(_("Prescription review is for the hospital's review pharmacists."))
    return request.user


def _prescription(request, prescription_id: int) -> Prescription:
    """The prescription as the API's detail reads it (visible to this pharmacist, read logged)."""
    try:
        return prescription_for(request.user, prescription_id, purpose="prescription_review_page",
                                queryset=prescriptions_for_display(prescriptions_visible_to(request.user)))
    except DomainError:
        raise Http404("No such prescription.") from None


# --- The queue ------------------------------------------------------------------------------
def _queue_rows(now) -> list[dict]:
    rows = []
    for prescription in prescriptions_for_display(review_queue()):
        rows.append({
            "rx": prescription,
            "waiting": now - prescription.signed_at if prescription.signed_at else None,
            "items": len(prescription.items.all()),
            "sex": sex_label(prescription.patient.sex),
            "overrides": len(prescription.override_reasons or {}),
        })
    return rows


@login_required_htmx
def queue(request):
    """The queue, oldest signature first, with how long each has waited. An htmx request
    (the page's poll every 10 s, or the reload after a decision) gets the list alone."""
    _reviewer(request)
    context = {"rows": _queue_rows(timezone.now()), "current": request.GET.get("current", "")}
    if request.htmx:
        return render(request, "prescriptions/review/_queue.html", context)
    return render(request, "prescriptions/review/queue.html", context)


# --- One prescription -----------------------------------------------------------------------
@dataclass(frozen=True)
class ItemChange:
    kind: str  # "added", "removed", "changed"
    drug: object
    before: dict | None
    after: dict | None
    fields: tuple[str, ...] = ()


def _item_values(item) -> dict:
    values = {name: getattr(item, name) for name in ITEM_FIELDS}
    values["frequency_label"] = frequency_label(item.frequency)
    return values


def revision_changes(previous: Prescription, current: Prescription) -> list[ItemChange]:
    """What changed in the items from the rejected version to this one, matched by drug:
    lines added, removed, and changed (naming the fields)."""
    before = {item.drug_id: item for item in previous.items.select_related("drug").order_by("position")}
    after = {item.drug_id: item for item in current.items.all()}
    changes = []
    for drug_id, item in after.items():
        old = before.get(drug_id)
        if old is None:
            changes.append(ItemChange("added", item.drug, None, _item_values(item)))
            continue
        differing = tuple(name for name in ITEM_FIELDS if getattr(old, name) != getattr(item, name))
        if differing:
            changes.append(ItemChange("changed", item.drug, _item_values(old), _item_values(item), differing))
    for drug_id, old in before.items():
        if drug_id not in after:
            changes.append(ItemChange("removed", old.drug, _item_values(old), None))
    return changes


def _findings(prescription: Prescription) -> tuple[list[dict], dict]:
    """The safety findings against the record today, each with the reason the doctor gave
    at signing; and the reasons given for findings that no longer arise."""
    try:
        findings = lifecycle.prescription_findings(prescription)
    except DomainError:
        findings = []
    reasons = dict(prescription.override_reasons or {})
    rows = [{"finding": f, "blocks": f.severity == BLOCK, "reason": reasons.pop(f.key, "")} for f in findings]
    return rows, reasons


def decision_context(request, prescription: Prescription, form=None) -> dict:
    """What the decision panel shows: the actions the pharmacist may take now (a form each,
    `form` being the one just posted), or the outcome."""
    actions = lifecycle.prescription_allowed_actions(prescription, actor=request.user)
    forms_by_action = {action: DecisionForm(prefix=action) for action in ("approve", "reject")}
    if form is not None:
        forms_by_action[form.prefix] = form
    return {
        "rx": prescription,
        "status_text": status_label(status_now(prescription)),
        "may_approve": "approve" in actions,
        "may_reject": "reject" in actions,
        "approve_form": forms_by_action["approve"],
        "reject_form": forms_by_action["reject"],
    }


def detail_context(request, prescription: Prescription, form=None) -> dict:
    facts = patient_facts(prescription.patient)
    summary = record_summary(prescription.patient, bp_readings=0)
    findings, stale_reasons = _findings(prescription)
    valid, verify_reason = lifecycle.prescription_verify(prescription)
    previous = prescription.previous
    return {
        **decision_context(request, prescription, form),
        "patient": prescription.patient,
        "sex": sex_label(prescription.patient.sex),
        "facts": facts,
        "conditions": summary["conditions"],
        "medications": summary["medications"],
        "items": [{"item": item, "frequency": frequency_label(item.frequency)} for item in prescription.items.all()],
        "findings": findings,
        "stale_reasons": stale_reasons,
        "valid": valid,
        "verify_reason": verify_reason,
        "profile": getattr(prescription.doctor, "doctor_profile", None),
        "previous": previous,
        "changes": revision_changes(previous, prescription) if previous else [],
        "diagnosis_changed": bool(previous and previous.diagnosis != prescription.diagnosis),
        "queue_rows": _queue_rows(timezone.now()),
    }


@login_required_htmx
def detail(request, prescription_id: int):
    """One prescription to review: the patient facts the checks used, every finding with the
    doctor's override reason, the signature check, what changed since the rejected version,
    and the decision."""
    _reviewer(request)
    prescription = _prescription(request, prescription_id)
    return render(request, "prescriptions/review/detail.html", detail_context(request, prescription))


def _decide(request, prescription_id: int, action: str, verb, done: str):
    """Approve or reject through the domain verb; a refusal re-renders the decision with the
    message at its field (the status of its kind), what was typed kept."""
    _reviewer(request)
    prescription = _prescription(request, prescription_id)
    form = DecisionForm(request.POST, prefix=action)
    form.is_valid()
    try:
        verb(by=request.user, prescription=prescription, reason=form.cleaned_data.get("reason", ""))
    except DomainError as exc:
        refusal_into_form(form, exc)
        status = HTTP_STATUS.get(exc.kind, 400)
        if request.htmx:
            return render(request, "prescriptions/review/_decision.html",
                          decision_context(request, prescription, form), status=status)
        return render(request, "prescriptions/review/detail.html", detail_context(request, prescription, form),
                      status=status)
    if not request.htmx:
        messages.success(request, done)
        return redirect("review-detail", prescription_id=prescription.pk)
    # The same request's read, already logged: re-read the decided row for display only.
    decided = prescriptions_for_display(prescriptions_visible_to(request.user)).get(pk=prescription.pk)
    following = review_queue().exclude(pk=prescription.pk).first()
    response = render(request, "prescriptions/review/_decision.html",
                      {**decision_context(request, decided), "done": done, "following": following})
    response["HX-Trigger"] = QUEUE_CHANGED
    return response


@login_required_htmx
@require_POST
def approve(request, prescription_id: int):
    return _decide(request, prescription_id, "approve", lifecycle.prescription_approve, _("Prescription approved."))


@login_required_htmx
@require_POST
def reject(request, prescription_id: int):
    return _decide(request, prescription_id, "reject", lifecycle.prescription_reject,
                   _("Prescription sent back to the doctor."))
