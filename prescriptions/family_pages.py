"""The family's confirmation of a long-term prescription beyond four weeks (长期处方管理规范（试行）):
one POST from the medicine list's card, calling `lifecycle.prescription_confirm`.

Who may confirm is the domain's rule (the patient or a proxy acting for them); a prescription
the user may not see at all is a 404, as on every page. The medicine list is the pharmacy
app's (`family-medicines`), found here by URL name only.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cloudhospital.errors import DomainError, Kind
from prescriptions import lifecycle
from prescriptions.permissions import prescriptions_visible_to
from prescriptions.selectors import prescription_for

MEDICINES_URL_NAME = "family-medicines"


@login_required
@require_POST
def prescription_confirm(request, prescription_id: int):
    """Confirm the long-term prescription, then back to the medicine list with what happened."""
    try:
        prescription = prescription_for(request.user, prescription_id, purpose="prescription_confirm",
                                        queryset=prescriptions_visible_to(request.user))
    except DomainError:
        raise Http404("No such prescription.") from None
    try:
        lifecycle.prescription_confirm(by=request.user, prescription=prescription)
    except DomainError as exc:
        if exc.kind == Kind.FORBIDDEN:
            raise Http404("No such prescription.") from None
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Confirmed. The prescription goes to the pharmacist for review."))
    return redirect(MEDICINES_URL_NAME)
