"""Which language a request is answered in.

Django's LocaleMiddleware picks the browser's language (Accept-Language, else
settings.LANGUAGE_CODE, Chinese) and sets `Content-Language` on the response from whatever
language is active when the response leaves. A user's saved language (User.language) wins
over the browser once the user is known: session users in UserLanguageMiddleware, right
after Django's authentication; token users (whatever token class the API lists) only once
DRF has authenticated them, which LanguageNegotiation forces while it negotiates the
response, before any view code builds a message.
"""

from django.conf import settings
from django.utils import translation
from rest_framework.negotiation import DefaultContentNegotiation


def in_language(zh: str, en: str) -> str:
    """A name kept as data in both languages, in the active one: English when English is
    active and an English name is on record, else the Chinese (the name of record)."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    return en if en and language.split("-")[0] == "en" else zh


def saved_language(user) -> str:
    """The user's saved language when it is one we offer; "" to follow the browser."""
    language = getattr(user, "language", "") or ""
    return language if language in dict(settings.LANGUAGES) else ""


def activate_saved_language(request, user) -> None:
    """Make the user's saved language the request's language, if they saved one."""
    language = saved_language(user)
    if language:
        translation.activate(language)
        getattr(request, "_request", request).LANGUAGE_CODE = language  # DRF's Request wraps Django's


class UserLanguageMiddleware:
    """A session-authenticated user's saved language (pages, the admin, session API calls)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            activate_saved_language(request, user)
        return self.get_response(request)


class LanguageNegotiation(DefaultContentNegotiation):
    """DRF's content negotiation, plus the language: the caller's saved language.

    DRF negotiates before it authenticates, so reading `request.user` here runs the view's
    authenticators a step early (the result is cached for the view); a bad token raises the
    same 401 it would have raised a moment later."""

    def select_renderer(self, request, renderers, format_suffix=None):
        activate_saved_language(request, request.user)
        return super().select_renderer(request, renderers, format_suffix)
