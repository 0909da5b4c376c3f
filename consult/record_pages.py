"""The family's people and health-record pages: whom they act for (and, to come, the
dependants and the record itself). Thin: reads through consult.selectors, writes through
consult.records, as the API does."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cloudhospital.web import safe_next
from consult.acting import act_for


@login_required
@require_POST
def patient_act_for(request):
    """Switch whom the family pages act for (a patient this user manages; else a 404)."""
    patient = act_for(request, request.POST.get("patient"))
    messages.info(request, _("Now acting for %(name)s.") % {"name": patient.full_name})
    return redirect(safe_next(request, fallback=reverse("patient-home")))
