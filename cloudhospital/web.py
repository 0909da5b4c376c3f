"""What every server-rendered page shares: the person's display preferences (language,
large text), the navigation of their role, and how a domain refusal reaches the page.

Pages are thin, as the API is: they call the same domain functions and the same access
policy, and a `DomainError` becomes a message next to the field it names (or above the
form when it names none). Nothing here decides who may do what.
"""

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from cloudhospital.errors import DomainError
from cloudhospital.models import Role

LARGE_TEXT_COOKIE = "ch_large_text"

# Each role's navigation: (URL name, label). A page whose app is not installed (its URL name
# does not resolve) is left out, so the core never imports an app to draw a menu.
NAVIGATION = {
    Role.PATIENT: [
        ("patient-home", _("My visits")),
        ("care-hospitals", _("Find a doctor")),
        ("family-record", _("Health record")),
        ("family-medicines", _("Prescriptions & medicine")),
        ("family-notifications", _("Messages")),
        ("family-people", _("Family")),
    ],
    Role.DOCTOR: [
        ("portal", _("Worklist")),
        ("portal-schedule", _("My schedule")),
        ("second-factor", _("Authenticator")),
    ],
    Role.PHARMACIST: [
        ("review-queue", _("Prescription review")),
    ],
    Role.PHARMACY_STAFF: [
        ("counter-orders", _("Orders")),
        ("counter-stock", _("Stock")),
    ],
}


def role_navigation(user) -> list[dict]:
    """The pages of the user's role. A pharmacist who is a member of a pharmacy dispenses
    (and so may not review, see prescriptions.permissions): theirs is the counter."""
    role = getattr(user, "role", None)
    if role == Role.PHARMACIST and _pharmacy_member(user):
        role = Role.PHARMACY_STAFF
    items = []
    for name, label in NAVIGATION.get(role, []):
        try:
            items.append({"url": reverse(name), "label": label, "name": name})
        except NoReverseMatch:
            continue
    return items


def _pharmacy_member(user) -> bool:
    try:
        return user.pharmacy_membership is not None
    except AttributeError:  # the reverse accessor raises RelatedObjectDoesNotExist, an AttributeError
        return False


def large_text_on(request) -> bool:
    """Elder mode: the signed-in user's saved choice, else the browser's cookie (before login)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return bool(user.large_text)
    return request.COOKIES.get(LARGE_TEXT_COOKIE) == "1"


def page_context(request) -> dict:
    """Template context processor (settings.TEMPLATES): preferences and navigation."""
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "large_text": large_text_on(request),
        "navigation": role_navigation(user) if signed_in else [],
        "languages": settings.LANGUAGES,
        "current_path": request.get_full_path(),
    }


def safe_next(request, fallback: str = "/") -> str:
    """The `next` the form posted, if it points back into this site; else `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


def refusal_into_form(form, exc: DomainError, *, fields: dict[str, str] | None = None) -> None:
    """Show a domain refusal on the form: at the field it names when the form has that
    field (`fields` maps a domain field name to the form's, when they differ), else as a
    form-wide error. The form is then invalid and re-rendered with what was typed."""
    name = (fields or {}).get(exc.field or "", exc.field)
    form.add_error(name if name in form.fields else None, exc.message)
