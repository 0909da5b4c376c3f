"""The formulary as the health record sees it: coded current medications.

consult may not import prescriptions (the layering is pharmacy -> prescriptions -> consult),
so a current medication stores the formulary drug's `code` string, and the lookups come
from whatever the prescriptions app registers in its AppConfig.ready
(`formulary_lookup_register`), as `prescriptions.lifecycle.withdrawal_handler_register` does
the other way round. Without a registered lookup every code is unknown and the record keeps
free text only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class FormularyEntry:
    """One formulary drug as a record form offers it: its code and a label in the active language."""

    code: str
    label: str


@dataclass(frozen=True)
class FormularyLookup:
    search: Callable[[str, int], list[FormularyEntry]]  # (query, limit) -> matches
    get: Callable[[str], FormularyEntry | None]  # code -> the active drug, or None


_lookups: list[FormularyLookup] = []


def formulary_lookup_register(*, search: Callable[[str, int], list[FormularyEntry]],
                              get: Callable[[str], FormularyEntry | None]) -> None:
    """Install the formulary lookup (the last registration wins; registering twice is harmless)."""
    _lookups[:] = [FormularyLookup(search=search, get=get)]


def formulary_search(query: str, *, limit: int = 20) -> list[FormularyEntry]:
    """Active formulary drugs matching `query` (name, ingredient, pinyin initials or code)."""
    if not _lookups or not query.strip():
        return []
    return _lookups[0].search(query.strip(), limit)


def formulary_entry(code: str) -> FormularyEntry | None:
    """The active formulary drug with this code, or None (also when no lookup is registered)."""
    if not _lookups or not code:
        return None
    return _lookups[0].get(code)
