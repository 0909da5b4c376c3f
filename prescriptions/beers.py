"""The AGS Beers Criteria 2023 table (knowledge/beers.yaml): cautions from age 65.

`beers_hits` says which entries concern a new item for a patient of this age and renal
function; prescriptions.checks words them as warnings (the criteria are cautions, never bans).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from prescriptions.interactions import Context, Participant, condition_holds, load_yaml


@dataclass(frozen=True)
class BeersEntry:
    id: str
    classes: frozenset[str]
    ingredients: frozenset[str]
    except_ingredients: frozenset[str]
    crcl_below: Decimal | None
    daily_above_mg: Decimal | None
    days_over: int | None
    dementia: bool
    reason: dict
    advice: dict

    def matches(self, participant: Participant) -> bool:
        if participant.ingredients & self.except_ingredients:
            return False
        return bool(self.classes & participant.classes or self.ingredients & participant.ingredients)


@dataclass(frozen=True)
class BeersTable:
    version: str
    source: str
    entries: tuple[BeersEntry, ...]


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@cache
def beers_table() -> BeersTable:
    data = load_yaml("beers.yaml")
    entries = tuple(
        BeersEntry(e["id"], frozenset(e.get("classes", ())), frozenset(e.get("ingredients", ())),
                   frozenset(e.get("except_ingredients", ())), _decimal(e.get("crcl_below")),
                   _decimal(e.get("daily_above_mg")), e.get("days_over"), bool(e.get("dementia")), e["reason"], e["advice"])
        for e in data["entries"]
    )
    return BeersTable(str(data["version"]), data["source"], entries)


def beers_hits(participant: Participant, *, context: Context, daily_mg: Decimal | None,
               days_taken: int) -> list[BeersEntry]:
    """The Beers entries concerning new item `participant` (the caller checks the patient is
    65 or older). `daily_mg` is its daily dose in mg (None for a unit that is not a mass);
    `days_taken` is this supply plus how long the patient has already been on the medicine."""
    found = []
    for entry in beers_table().entries:
        if not entry.matches(participant):
            continue
        if entry.crcl_below is not None and not condition_holds({"crcl_below": entry.crcl_below}, context):
            continue
        if entry.daily_above_mg is not None and (daily_mg is None or daily_mg <= entry.daily_above_mg):
            continue
        if entry.days_over is not None and days_taken <= entry.days_over:
            continue
        if entry.dementia and not context.dementia:
            continue
        found.append(entry)
    return found
