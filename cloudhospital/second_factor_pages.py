"""The doctor's authenticator pages: enrol (a QR code and the secret, shown once, confirmed
by a first code), and the code prompt the room shows before admitting.

Thin, as the API (cloudhospital.api.second_factor) is: every check is cloudhospital.step_up,
and a refusal shows at the code field, in the page's language. A proof made here counts for
this browser session only."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from cloudhospital import step_up
from cloudhospital.errors import DomainError, Kind
from cloudhospital.web import refusal_into_form


class OtpForm(forms.Form):
    otp = forms.CharField(label=_("Code from your authenticator"), max_length=12, widget=forms.TextInput(attrs={
        "inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9 ]*", "size": 8}))


def _status(exc: DomainError) -> int:
    return {Kind.FORBIDDEN: 403, Kind.CONFLICT: 409}.get(exc.kind, 400)


def _refused(response: HttpResponse, status: int) -> HttpResponse:
    response.status_code = status
    response["HX-Reswap"] = "outerHTML"  # htmx 2 leaves 4xx answers out unless told
    return response


@login_required
@require_http_methods(["GET", "POST"])
def second_factor(request):
    """GET: whether an authenticator is set up. POST `start`: a new secret and its QR code,
    shown this once. POST `confirm` with the first code: the authenticator is in use."""
    user, context = request.user, {"form": OtpForm()}
    if request.method == "POST" and request.POST.get("action") == "start":
        device = step_up.device_enrol(user=user)
        uri = step_up.provisioning_uri(device)
        context.update(pending=True, secret=step_up.secret_base32(device), qr_svg=step_up.qr_svg(uri))
    elif request.method == "POST":
        form = OtpForm(request.POST)
        context["form"] = form
        if form.is_valid():
            try:
                step_up.device_confirm(user=user, code=form.cleaned_data["otp"])
                context["confirmed"] = True
            except DomainError as exc:
                refusal_into_form(form, exc)
                context["pending"] = step_up.device_pending(user) is not None
                return render(request, "cloudhospital/second_factor/page.html",
                              {**context, "enrolled": step_up.device_for(user) is not None}, status=_status(exc))
        else:
            context["pending"] = step_up.device_pending(user) is not None
    context["enrolled"] = step_up.device_for(user) is not None
    return render(request, "cloudhospital/second_factor/page.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def second_factor_verify(request):
    """The code prompt (an htmx fragment; GET shows it empty): prove this session's second
    factor. On success the fragment says so and fires `second-factor-verified`, which the room
    listens for to send the admission it was asked for."""
    if request.method == "GET":
        return render(request, "cloudhospital/second_factor/_prompt.html", {"form": OtpForm()})
    form = OtpForm(request.POST)
    if form.is_valid():
        try:
            step_up.verify(user=request.user, credential=step_up.credential_of(request), code=form.cleaned_data["otp"])
        except DomainError as exc:
            refusal_into_form(form, exc)
            return _refused(render(request, "cloudhospital/second_factor/_prompt.html", {"form": form}), _status(exc))
        response = render(request, "cloudhospital/second_factor/_verified.html")
        response["HX-Trigger"] = "second-factor-verified"
        return response
    return _refused(render(request, "cloudhospital/second_factor/_prompt.html", {"form": form}), 400)
