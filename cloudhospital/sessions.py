"""Database sessions that refuse malformed session keys before any query.

Django's keys are 32 lowercase letters and digits. A cookie carrying anything else (a NUL
byte, say) would otherwise reach PostgreSQL, which rejects NUL in a string with an error,
and the request would end in a 500 before any view runs. Such a cookie is simply no session.
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils.crypto import RANDOM_STRING_CHARS

VALID_KEY_CHARS = frozenset(RANDOM_STRING_CHARS.lower())


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        return bool(super()._validate_session_key(key)) and len(key) <= 40 and set(key) <= VALID_KEY_CHARS
