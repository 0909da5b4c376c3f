"""The doctor's prescribing panel in the consultation room, the portal's notices of
prescriptions the review pharmacist sent back, and the patient's prescription history.

Thin, as the API is (prescriptions.api.views): the panel posts the whole draft on every
change and the views call the same functions — `prescription_findings_for` for the live
safety checks, `prescription_create` / `prescription_update` to save, `prescription_sign`,
`prescription_void`, `prescription_revise` — and read through the same selectors and access
policy (`consultation_for`, `prescription_for`, `prescriptions_visible_to`,
`may_prescribe_in`). The draft lives in the form until it is saved: nothing is kept on the
server between requests. A refusal (DomainError) is shown next to the field it names, with
a 400 (htmx swaps it: the response carries HX-Reswap); a foreign consultation is a 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from cloudhospital import step_up
from cloudhospital.errors import DomainError, Kind
from cloudhospital.languages import in_language
from cloudhospital.models import Role
from cloudhospital.web import refusal_into_form
from consult.permissions import consultations_visible_to
from consult.selectors import consultation_for, patients_listed
from prescriptions import lifecycle, sign_in_person
from prescriptions.checks import BLOCK, FREQUENCIES, WARN, Finding, expected_quantity, override_allowed
from prescriptions.formulary import drugs_matching
from prescriptions.lifecycle import ItemDraft, prescription_allowed_actions
from prescriptions.models import Drug, Prescription, PrescriptionStatus
from prescriptions.permissions import may_prescribe_in, prescriptions_visible_to
from prescriptions.selectors import prescription_for, prescriptions_for_display

S = PrescriptionStatus
PREFIX = "items"
OVERRIDE = "override-"
SEARCH_RESULTS_MAX = 10
DAYS_DEFAULT = 7

STATUS_LABELS = {
    S.DRAFT: gettext_lazy("Draft, not signed"),
    S.CONFIRMING: gettext_lazy("Signed, awaiting the patient's confirmation (long-term prescription)"),
    S.SIGNED: gettext_lazy("Signed, awaiting pharmacist review"),
    S.APPROVED: gettext_lazy("Approved by the review pharmacist"),
    S.REJECTED: gettext_lazy("Rejected by the review pharmacist"),
    S.DISPENSED: gettext_lazy("Dispensed"),
    S.EXPIRED: gettext_lazy("Expired"),
    S.VOIDED: gettext_lazy("Voided"),
}

# A plain-words heading for each safety finding (prescriptions.checks); its message follows.
FINDING_TITLES = {
    "allergy": gettext_lazy("Allergy on record"),
    "renal_contraindicated": gettext_lazy("Not to be given at this kidney function"),
    "renal_dose_cap": gettext_lazy("Above the dose limit for this kidney function"),
    "renal_function_unknown": gettext_lazy("No kidney function (eGFR) on record"),
    "max_daily_dose": gettext_lazy("Above the maximum daily dose"),
    "days_supply": gettext_lazy("Supplied for too many days"),
    "long_term_without_chronic_condition": gettext_lazy("Long-term prescription without a chronic condition"),
    "online_prohibited_class": gettext_lazy("Not to be prescribed online (specially managed drug)"),
    "days_supply_extended": gettext_lazy("More than 7 days' supply: write the reason"),
    "long_term_too_long": gettext_lazy("Long-term prescription over 12 weeks"),
    "long_term_without_chronic_diagnosis": gettext_lazy("Long-term prescription without a chronic diagnosis"),
    "long_term_excluded": gettext_lazy("Not allowed on a long-term prescription"),
    "duplicate_therapy": gettext_lazy("Two medicines of the same kind"),
    "ace_inhibitor_with_arb": gettext_lazy("Dangerous combination"),
    "raas_blocker_with_potassium_sparing": gettext_lazy("Dangerous combination"),
    "raas_blocker_with_nsaid": gettext_lazy("Dangerous combination"),
}

ITEM_FIELD = re.compile(r"^items\[(\d+)\]\.(\w+)$")


# --- Forms -------------------------------------------------------------------------------
def _frequency_choices():
    return [(code, in_language(f.label_zh, f.label)) for code, f in FREQUENCIES.items()]


def _unit_label(unit: str) -> str:
    return {"tablet": _("tablet"), "capsule": _("capsule"), "片": _("片 (tablet)"), "粒": _("粒 (capsule)")}.get(unit, unit)


class ItemForm(forms.Form):
    """One line as the doctor edits it. The domain validates the values (checks.item_validate);
    the form only parses them."""

    drug = forms.ModelChoiceField(queryset=Drug.objects.filter(active=True), to_field_name="code",
                                  widget=forms.HiddenInput, error_messages={
                                      "invalid_choice": gettext_lazy("Unknown drug, or no longer in the formulary.")})
    dose = forms.DecimalField(label=gettext_lazy("Dose"), max_digits=8, decimal_places=3)
    dose_unit = forms.CharField(label=gettext_lazy("Unit"), max_length=10)
    frequency = forms.ChoiceField(label=gettext_lazy("Frequency"), choices=_frequency_choices)
    route = forms.CharField(label=gettext_lazy("Route"), max_length=20, required=False)
    days_supply = forms.IntegerField(label=gettext_lazy("Days"), min_value=1, max_value=366)
    instructions = forms.CharField(label=gettext_lazy("Instructions"), max_length=200, required=False)


ItemFormSet = forms.formset_factory(ItemForm, extra=0)


class DraftForm(forms.Form):
    prescription = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    long_term = forms.BooleanField(label=gettext_lazy("Long-term prescription (长期处方): up to 12 weeks for a stable "
                                                      "chronic condition"), required=False)
    notes = forms.CharField(label=gettext_lazy("Notes for the pharmacist"), max_length=500, required=False,
                            widget=forms.Textarea(attrs={"rows": 2}))
    # 处方管理办法: valid on the day written; up to 3 days with the reason (prescriptions.rules.validity_clean).
    validity_days = forms.IntegerField(label=gettext_lazy("Valid for (days)"), required=False, min_value=1, max_value=366)
    validity_reason = forms.CharField(label=gettext_lazy("Why valid for more than one day"), max_length=200,
                                      required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason for voiding (required)"), max_length=500, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))


# --- Access --------------------------------------------------------------------------------
def _consultation(request, consultation_id: int, *, purpose: str):
    """The consultation, read and logged through consult.selectors; 404 for anyone who does
    not take part in it, 403 for a participant who is not its doctor (the patient, a proxy)."""
    visible = consultations_visible_to(request.user).select_related(
        "booking__patient", "booking__slot__doctor__user")
    try:
        consultation = consultation_for(request.user, consultation_id, purpose=purpose, queryset=visible)
    except DomainError:
        raise Http404("No such consultation.") from None
    if not may_prescribe_in(request.user, consultation):
        raise PermissionDenied(_("Only the consultation's doctor may prescribe for it."))
    return consultation


def _consultation_unlogged(request, consultation_id: int):
    """For the formulary search, which reads no patient data: the same policy, no log row."""
    consultation = consultations_visible_to(request.user).select_related("booking__slot__doctor").filter(
        pk=consultation_id).first()
    if consultation is None:
        raise Http404("No such consultation.")
    if not may_prescribe_in(request.user, consultation):
        raise PermissionDenied(_("Only the consultation's doctor may prescribe for it."))
    return consultation


def _mine(request, consultation):
    """The prescriptions of this consultation the doctor wrote, as the API shows them."""
    return prescriptions_for_display(prescriptions_visible_to(request.user)).filter(
        consultation=consultation, doctor=request.user).select_related("previous__reviewed_by")


def _current(request, consultation) -> Prescription | None:
    return _mine(request, consultation).order_by("-created_at", "-id").first()


def _prescription(request, consultation, prescription_id, *, purpose: str) -> Prescription:
    try:
        return prescription_for(request.user, prescription_id, purpose=purpose, queryset=_mine(request, consultation))
    except DomainError:
        raise Http404("No such prescription.") from None


# --- The draft in the form -------------------------------------------------------------------
def _drugs() -> dict[str, Drug]:
    return {drug.code: drug for drug in Drug.objects.filter(active=True)}


def _plain(value) -> str:
    return format(Decimal(value).normalize(), "f")


def _data_from(prescription: Prescription | None) -> dict:
    """The form data of a saved draft (or of an empty one), as if the browser had posted it."""
    items = list(prescription.items.all()) if prescription else []
    data = {f"{PREFIX}-TOTAL_FORMS": str(len(items)), f"{PREFIX}-INITIAL_FORMS": "0"}
    for index, item in enumerate(items):
        row = f"{PREFIX}-{index}-"
        data.update({
            row + "drug": item.drug.code, row + "dose": _plain(item.dose), row + "dose_unit": item.dose_unit,
            row + "frequency": item.frequency, row + "route": item.route, row + "days_supply": str(item.days_supply),
            row + "instructions": item.instructions,
        })
    if prescription:
        data.update({"prescription": str(prescription.pk), "notes": prescription.notes,
                     "validity_days": str(prescription.validity_days), "validity_reason": prescription.validity_reason})
        if prescription.long_term:
            data["long_term"] = "on"
    return data


def _total(data) -> int:
    try:
        return max(0, min(int(data.get(f"{PREFIX}-TOTAL_FORMS", 0)), 50))
    except (TypeError, ValueError):
        return 0


ROW_FIELDS = ("drug", "dose", "dose_unit", "frequency", "route", "days_supply", "instructions")


def _item_add(data: dict, drug: Drug) -> int:
    """Append a line for `drug` with a starting dose of one unit of its strength once daily."""
    index = _total(data)
    row = f"{PREFIX}-{index}-"
    data.update({
        row + "drug": drug.code, row + "dose": _plain(drug.strength), row + "dose_unit": drug.strength_unit,
        row + "frequency": "qd", row + "route": drug.route, row + "days_supply": str(DAYS_DEFAULT),
        row + "instructions": "",
    })
    data[f"{PREFIX}-TOTAL_FORMS"] = str(index + 1)
    return index


def _item_remove(data: dict, index: int) -> None:
    """Drop line `index`; the lines after it move up. Override reasons are keyed by position,
    so they are dropped too (they would otherwise attach to another line)."""
    total = _total(data)
    if not 0 <= index < total:
        return
    for i in range(index, total - 1):
        for name in ROW_FIELDS:
            data[f"{PREFIX}-{i}-{name}"] = data.get(f"{PREFIX}-{i + 1}-{name}", "")
    for name in ROW_FIELDS:
        data.pop(f"{PREFIX}-{total - 1}-{name}", None)
    data[f"{PREFIX}-TOTAL_FORMS"] = str(total - 1)
    for key in [k for k in data if k.startswith(OVERRIDE)]:
        data.pop(key)


def _editable(data) -> dict:
    """A plain, mutable copy of the posted data (single values)."""
    return {key: data.get(key) for key in data} if hasattr(data, "getlist") else dict(data)


@dataclass
class Row:
    index: int
    form: ItemForm
    drug: Drug | None
    quantity: str = ""
    unit_choices: list = field(default_factory=list)
    autofocus: bool = False

    @property
    def count_unit(self) -> str:
        """What the quantity counts: the drug's dosage units."""
        return _("capsules") if self.drug and "capsule" in self.drug.form else _("tablets")


@dataclass
class Draft:
    """The posted draft, parsed: its forms, its lines, and (when they parse) the drafts and
    their safety findings, or the refusal that stopped them."""

    form: DraftForm
    formset: ItemFormSet
    rows: list[Row]
    overrides: dict[str, str]
    drafts: list[ItemDraft] | None = None
    findings: list[Finding] | None = None
    override_errors: dict[str, str] = field(default_factory=dict)
    refusal: DomainError | None = None
    otp_error: str = ""  # the second-factor code's refusal, shown at the code field

    @property
    def valid(self) -> bool:
        return self.drafts is not None and self.refusal is None and not self.errors

    @property
    def errors(self) -> bool:
        return bool(self.form.errors or any(r.form.errors for r in self.rows) or self.formset.non_form_errors())


def _quantity(drug, form: ItemForm) -> int | None:
    data = form.cleaned_data if hasattr(form, "cleaned_data") else {}
    if not drug or not all(data.get(k) is not None for k in ("dose", "dose_unit", "frequency", "days_supply")):
        return None
    try:
        return expected_quantity(drug=drug, dose=data["dose"], dose_unit=data["dose_unit"],
                                 frequency=data["frequency"], days_supply=data["days_supply"])
    except (DomainError, ArithmeticError):
        return None


def _unit_choices(drug: Drug | None, current: str) -> list[tuple[str, str]]:
    units = [drug.strength_unit] if drug else ["mg"]
    if drug:
        units.append("粒" if "capsule" in drug.form else "片")
    if current and current not in units:
        units.append(current)
    return [(unit, _unit_label(unit)) for unit in units]


def _parse(consultation, data, *, drugs: dict[str, Drug], focus: int | None = None) -> Draft:
    form = DraftForm(data)
    formset = ItemFormSet(data, prefix=PREFIX)
    form.is_valid()
    formset.is_valid()
    overrides = {key[len(OVERRIDE):]: (value or "") for key, value in data.items() if key.startswith(OVERRIDE)}
    rows, drafts = [], []
    for index, item_form in enumerate(formset.forms):
        drug = drugs.get(data.get(f"{PREFIX}-{index}-drug") or "")
        quantity = _quantity(drug, item_form)
        rows.append(Row(index, item_form, drug, "" if quantity is None else str(quantity),
                        _unit_choices(drug, data.get(f"{PREFIX}-{index}-dose_unit") or ""), index == focus))
        if not item_form.errors:
            cleaned = item_form.cleaned_data
            drafts.append(ItemDraft(drug=cleaned["drug"], dose=cleaned["dose"], dose_unit=cleaned["dose_unit"],
                                    frequency=cleaned["frequency"], days_supply=cleaned["days_supply"],
                                    quantity=quantity or 0, route=cleaned["route"],
                                    instructions=cleaned["instructions"]))
    draft = Draft(form, formset, rows, overrides)
    if draft.errors or not drafts:
        return draft
    draft.drafts = drafts
    try:
        draft.findings = lifecycle.prescription_findings_for(
            patient=consultation.booking.patient, items=drafts, long_term=form.cleaned_data.get("long_term", False),
            diagnosis=consultation.diagnosis or [])
    except DomainError as exc:
        _place(draft, exc)
    return draft


def _place(draft: Draft, exc: DomainError) -> None:
    """Put a refusal next to the field it names: an item's field, a warning's override
    reason, or above the draft."""
    draft.refusal = exc
    match = ITEM_FIELD.match(exc.field or "")
    if match and int(match[1]) < len(draft.rows):
        refusal_into_form(draft.rows[int(match[1])].form, exc, fields={exc.field: match[2]})
    elif exc.code == "override_reason_required" and draft.findings is not None:
        for finding in draft.findings:
            if finding.severity == WARN and not draft.overrides.get(finding.key, "").strip():
                draft.override_errors[finding.key] = _("Give a reason to override this warning.")
    elif exc.code == "override_reason_too_long" and draft.findings is not None:
        for finding in draft.findings:
            if len(draft.overrides.get(finding.key, "").strip()) > 500:
                draft.override_errors[finding.key] = exc.message
    elif exc.field == "otp":
        draft.otp_error = exc.message
    elif (exc.field or "").startswith("diagnosis"):
        draft.form.add_error(None, _("The prescription takes the consultation's diagnosis: write it in the consult "
                                     "notes (ICD-10 code, then name), save them, then save or sign again.")
                             + " " + exc.message)
    elif exc.code != "safety_block":
        refusal_into_form(draft.form, exc)


def _findings_view(draft: Draft) -> dict:
    """What the findings box shows: each finding in plain words, the item it concerns, and
    for a warning its override-reason field."""
    rows = {row.index: row for row in draft.rows}
    shown = []
    for finding in draft.findings or []:
        row = rows.get(finding.item) if finding.item is not None else None
        shown.append({
            "finding": finding, "blocks": finding.severity == BLOCK,
            "title": FINDING_TITLES.get(finding.code, finding.code),
            "item_number": None if finding.item is None else finding.item + 1,
            "drug": row.drug.display_name if row and row.drug else "",
            "name": OVERRIDE + finding.key, "field_id": "rx-override-" + re.sub(r"[^A-Za-z0-9_-]", "-", finding.key),
            "reason": draft.overrides.get(finding.key, ""), "error": draft.override_errors.get(finding.key, ""),
        })
    checked = draft.findings is not None
    return {
        "findings": shown, "checked": checked, "empty": not draft.rows,
        "can_sign": checked and override_allowed(draft.findings) and not draft.errors,
        "blocked": checked and not override_allowed(draft.findings),
        "block_message": draft.refusal.message if draft.refusal and draft.refusal.code == "safety_block" else "",
        "otp_error": draft.otp_error,
    }


# --- Rendering --------------------------------------------------------------------------------
def _status_for(exc: DomainError | None) -> int:
    if exc is None:
        return 400
    return {Kind.FORBIDDEN: 403, Kind.CONFLICT: 409, Kind.NOT_FOUND: 404}.get(exc.kind, 400)


def _refused(response: HttpResponse, status: int) -> HttpResponse:
    """A refusal with its fragment: the status says what went wrong, HX-Reswap tells the
    panel's htmx to swap it in all the same (htmx 2 leaves 4xx answers out by default)."""
    response.status_code = status
    response["HX-Reswap"] = "outerHTML"
    return response


def _panel_context(request, consultation, *, draft: Draft | None = None, prescription: Prescription | None = None,
                   new: bool = False, notice: str = "", void_form: ReasonForm | None = None) -> dict:
    """Which face the panel shows: a draft being edited (posted, saved, or a new empty one),
    or the current prescription's status with what the doctor may do with it now
    (`prescription_allowed_actions`, the API's `allowed_actions`)."""
    current = prescription if prescription is not None else _current(request, consultation)
    context = {
        "consultation": consultation, "patient": consultation.booking.patient,
        "diagnosis": consultation.diagnosis or [], "notice": notice, "void_form": void_form or ReasonForm(),
        "editing": False, "current": None, "draft_of": None, "voided": None,
    }
    if draft is not None:
        posted_id = str(draft.form.data.get("prescription") or "")
        if current is not None and current.status == S.DRAFT and str(current.pk) == posted_id:
            context["draft_of"] = current
    elif new or current is None or current.status == S.VOIDED:
        draft = _parse(consultation, _data_from(None), drugs=_drugs())
        if current is not None and current.status == S.VOIDED:
            context["voided"] = current
    elif current.status == S.DRAFT:
        draft = _parse(consultation, _data_from(current), drugs=_drugs())
        context["draft_of"] = current
    else:
        context["current"] = current
    shown = context["current"] or context["draft_of"]
    if shown is not None:
        context.update({
            "status_label": STATUS_LABELS.get(shown.status, shown.status),
            "actions": prescription_allowed_actions(shown, actor=request.user),
            "items": [{"item": item, "frequency": _frequency_label(item.frequency)} for item in shown.items.all()],
            "overrides": _overrides_view(shown),
        })
    if draft is not None:
        context.update({"editing": True, "draft": draft, **_findings_view(draft)})
    return context


def _overrides_view(prescription: Prescription) -> list[dict]:
    """The override reasons stored at signing, each named in plain words (Finding.key is
    "code:position", or the code alone)."""
    items = {item.position: item for item in prescription.items.all()}
    shown = []
    for key, reason in (prescription.override_reasons or {}).items():
        code, _sep, position = key.partition(":")
        item = items.get(int(position)) if position.isdigit() else None
        shown.append({"title": FINDING_TITLES.get(code, code), "reason": reason,
                      "item_number": item.position + 1 if item else None,
                      "drug": item.drug.display_name if item else ""})
    return shown


def _frequency_label(code: str) -> str:
    frequency = FREQUENCIES.get(code)
    return in_language(frequency.label_zh, frequency.label) if frequency else code


def _panel(request, consultation, *, status: int = 200, **kwargs) -> HttpResponse:
    response = render(request, "prescriptions/prescribing/panel.html", _panel_context(request, consultation, **kwargs))
    return response if status == 200 else _refused(response, status)


# --- Views -----------------------------------------------------------------------------------
@login_required
@require_GET
def panel(request, consultation_id: int):
    """The panel for the consultation's doctor: the current prescription of this
    consultation (a draft to edit, or its status and what may be done with it), or an empty
    draft. `?new=1` starts another prescription beside a signed one."""
    consultation = _consultation(request, consultation_id, purpose="prescribing_panel")
    return _panel(request, consultation, new=request.GET.get("new") == "1")


@login_required
@require_GET
def drug_search(request, consultation_id: int):
    """Formulary entries matching ?q= by Chinese or English name, ingredient, code, or stored pinyin
    initials ("aldp" finds 氨氯地平; prescriptions.formulary.drugs_matching): a list of buttons, each
    adding the drug to the draft."""
    consultation = _consultation_unlogged(request, consultation_id)
    query = (request.GET.get("q") or "").strip()[:40]
    found = list(drugs_matching(query).order_by("generic_name_zh", "strength")[:SEARCH_RESULTS_MAX])
    return render(request, "prescriptions/prescribing/drug_results.html",
                  {"consultation": consultation, "query": query, "drugs": found})


@login_required
@require_POST
def draft_edit(request, consultation_id: int):
    """Add a drug (`add` = its code) or remove a line (`remove` = its position), then show
    the draft again with its findings. Nothing is saved."""
    consultation = _consultation(request, consultation_id, purpose="prescribing_draft")
    data, drugs = _editable(request.POST), _drugs()
    focus = None
    if request.POST.get("add"):
        drug = drugs.get(request.POST["add"])
        if drug is None:
            draft = _parse(consultation, data, drugs=drugs)
            draft.form.add_error(None, _("Unknown drug, or no longer in the formulary."))
            return _panel(request, consultation, draft=draft, status=400)
        focus = _item_add(data, drug)
    elif request.POST.get("remove", "").isdigit():
        _item_remove(data, int(request.POST["remove"]))
    draft = _parse(consultation, data, drugs=drugs, focus=focus)
    return _panel(request, consultation, draft=draft)


@login_required
@require_POST
def draft_check(request, consultation_id: int):
    """The live safety checks: the posted draft through `prescription_findings_for`, as the
    API's check does; the findings box, with each line's quantity and field errors beside it."""
    consultation = _consultation(request, consultation_id, purpose="prescribing_check")
    draft = _parse(consultation, _editable(request.POST), drugs=_drugs())
    response = render(request, "prescriptions/prescribing/check.html", {
        "consultation": consultation, "draft": draft, **_findings_view(draft)})
    if draft.errors or (draft.refusal and draft.refusal.code != "safety_block"):
        response.status_code = 400
        response["HX-Reswap"] = "innerHTML"
    return response


def _save(request, consultation, draft: Draft) -> Prescription:
    """Create or update the draft from the parsed form; the diagnosis is the consultation's."""
    cleaned = draft.form.cleaned_data
    kwargs = {"diagnosis": consultation.diagnosis or [], "items": draft.drafts,
              "long_term": cleaned.get("long_term", False), "notes": cleaned.get("notes", ""),
              "validity_days": cleaned.get("validity_days"), "validity_reason": cleaned.get("validity_reason", "")}
    if cleaned.get("prescription"):
        prescription = _prescription(request, consultation, cleaned["prescription"], purpose="prescription_update")
        return lifecycle.prescription_update(by=request.user, prescription=prescription, **kwargs).prescription
    return lifecycle.prescription_create(by=request.user, consultation=consultation, **kwargs).prescription


def _parsed_for_write(request, consultation):
    data = _editable(request.POST)
    draft = _parse(consultation, data, drugs=_drugs())
    if not draft.rows and not draft.errors:
        draft.form.add_error(None, _("Add at least one medicine."))
    return data, draft


def _save_posted(request, consultation):
    """Parse the posted draft and save it: (None, data, draft, prescription), or the panel
    showing the refusal first (a safety block does not stop a draft, only signing)."""
    data, draft = _parsed_for_write(request, consultation)
    if draft.errors or draft.drafts is None or (draft.refusal and draft.refusal.code != "safety_block"):
        return _panel(request, consultation, draft=draft, status=_status_for(draft.refusal)), data, draft, None
    try:
        prescription = _save(request, consultation, draft)
    except DomainError as exc:
        _place(draft, exc)
        return _panel(request, consultation, draft=draft, status=_status_for(exc)), data, draft, None
    return None, data, draft, prescription


@login_required
@require_POST
def draft_save(request, consultation_id: int):
    """Save the draft (`prescription_create`, or `prescription_update` once it exists)."""
    consultation = _consultation(request, consultation_id, purpose="prescribing_save")
    refused, data, draft, prescription = _save_posted(request, consultation)
    if refused:
        return refused
    return _panel(request, consultation, prescription=_mine(request, consultation).get(pk=prescription.pk),
                  notice=_("Draft saved."))


@login_required
@require_POST
def draft_sign(request, consultation_id: int):
    """Save the draft as it stands, then sign it (`prescription_sign`) with the override
    reasons given for the warnings. Blocks refuse; a warning without a reason is refused next
    to its reason field; a doctor who cannot sign (no signing key) is told so."""
    consultation = _consultation(request, consultation_id, purpose="prescribing_sign")
    refused, data, draft, prescription = _save_posted(request, consultation)
    if refused:
        return refused
    data["prescription"] = str(prescription.pk)
    overrides = {key: value for key, value in draft.overrides.items()}
    try:
        # 互联网诊疗监管细则（试行）: signed by the doctor in person, with a code from their authenticator.
        sign_in_person.prescription_sign_in_person(
            by=request.user, prescription=prescription, overrides=overrides,
            credential=step_up.credential_of(request), code=request.POST.get("otp", ""))
    except DomainError as exc:
        draft = _parse(consultation, data, drugs=_drugs())
        _place(draft, exc)
        return _panel(request, consultation, draft=draft, status=_status_for(exc))
    except ImproperlyConfigured:
        # No signing secret on this server: no key can be made or used. Say so plainly; the
        # draft is saved and can be signed once the hospital has set signing up.
        draft = _parse(consultation, data, drugs=_drugs())
        draft.form.add_error(None, _("Signing is not set up on this server, so no signing key can be used: the draft "
                                     "is saved. Ask the hospital's administrator to configure prescription signing."))
        return _panel(request, consultation, draft=draft, status=503)
    return _panel(request, consultation, prescription=_mine(request, consultation).get(pk=prescription.pk),
                  notice=_("Signed. The prescription is with the review pharmacist."))


@login_required
@require_POST
def prescription_void(request, consultation_id: int, prescription_id: int):
    """Void a draft or an approved prescription, with a reason (`prescription_void`)."""
    consultation = _consultation(request, consultation_id, purpose="prescribing_void")
    prescription = _prescription(request, consultation, prescription_id, purpose="prescription_void")
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _panel(request, consultation, prescription=prescription, void_form=form, status=400)
    try:
        lifecycle.prescription_void(by=request.user, prescription=prescription, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        refusal_into_form(form, exc)
        return _panel(request, consultation, prescription=prescription, void_form=form, status=_status_for(exc))
    return _panel(request, consultation, notice=_("The prescription was voided."))


@login_required
@require_POST
def prescription_revise(request, consultation_id: int, prescription_id: int):
    """Start a new version of a prescription the pharmacist rejected (`prescription_revise`)."""
    consultation = _consultation(request, consultation_id, purpose="prescribing_revise")
    prescription = _prescription(request, consultation, prescription_id, purpose="prescription_revise")
    try:
        saved = lifecycle.prescription_revise(by=request.user, prescription=prescription)
    except DomainError as exc:
        return _panel(request, consultation, prescription=prescription, notice=exc.message, status=_status_for(exc))
    return _panel(request, consultation, prescription=_mine(request, consultation).get(pk=saved.prescription.pk),
                  notice=_("A new version was started from the rejected one: change it, then sign again."))


@login_required
@require_GET
def portal_notices(request):
    """For the portal: this doctor's prescriptions the review pharmacist rejected and that
    have not been revised yet, with the reason and a link back to the consultation."""
    if request.user.role != Role.DOCTOR:
        raise PermissionDenied(_("The clinician portal is for doctors."))
    rejected = list(prescriptions_for_display(prescriptions_visible_to(request.user)).filter(
        doctor=request.user, status=S.REJECTED, revision__isnull=True).order_by("-reviewed_at", "-id")[:50])
    patients_listed(request.user, [rx.patient for rx in rejected], purpose="prescription_notices")
    return render(request, "prescriptions/prescribing/notices.html", {"rejected": rejected})


@login_required
@require_GET
def history(request, consultation_id: int):
    """The patient's earlier prescriptions, as far as the access policy lets this doctor see
    them (prescriptions_visible_to): date, items, status and the review's outcome."""
    consultation = _consultation(request, consultation_id, purpose="prescription_history")
    earlier = prescriptions_for_display(prescriptions_visible_to(request.user)).filter(
        patient=consultation.booking.patient).exclude(consultation=consultation).exclude(status=S.DRAFT).order_by(
        "-created_at", "-id")[:20]  # a draft never left the doctor's desk: not a prescription the patient had
    rows = [{
        "rx": rx, "date": rx.signed_at or rx.created_at, "status_label": STATUS_LABELS.get(rx.status, rx.status),
        "outcome": _review_outcome(rx),
        "items": [{"item": item, "frequency": _frequency_label(item.frequency)} for item in rx.items.all()],
    } for rx in earlier]
    return render(request, "prescriptions/prescribing/history.html", {"consultation": consultation, "rows": rows})


def _review_outcome(prescription: Prescription) -> str:
    if prescription.status == S.REJECTED:
        return _("Rejected")
    if prescription.reviewed_at is not None:
        return _("Approved")
    return _("Not reviewed")
