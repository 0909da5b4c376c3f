"""The interaction and duplicate-therapy table (knowledge/interactions.yaml), indexed once.

Pure matching: `interaction_hits` and `duplicate_hits` take the medicines in play (the new
items and the current medications, as `Participant`s) and a `Context` of patient facts, and
say which rules fire; prescriptions.checks turns the hits into findings with messages.

The table is read and indexed by ingredient and class once per process (`table()`), so a
check costs a few dictionary lookups per medicine, not a scan of every rule.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import yaml

from prescriptions.models import Drug

KNOWLEDGE_DIR = Path(__file__).resolve().parent / "knowledge"
CONTRAINDICATED, MAJOR, MODERATE = "contraindicated", "major", "moderate"
GRADES = (MODERATE, MAJOR, CONTRAINDICATED)  # mildest first

_INGREDIENT_SEPARATORS = re.compile(r"\s*(?:/|\+|,|;|&|\band\b|\bwith\b)\s*")


def ingredients_of(drug: Drug) -> frozenset[str]:
    """The active ingredients of `drug`, lower case: a fixed-dose combination's "amlodipine/valsartan"
    is {"amlodipine", "valsartan"}."""
    text = (drug.ingredient or drug.generic_name or "").lower()
    return frozenset(part.strip() for part in _INGREDIENT_SEPARATORS.split(text) if part.strip())


def classes_of(drug: Drug) -> frozenset[str]:
    """The drug's therapeutic class and, for a fixed-dose combination, its components' classes."""
    return frozenset([drug.therapeutic_class, *(drug.extra_classes or [])])


@dataclass(frozen=True, eq=False)  # compared by identity: the same drug may be in play twice
class Participant:
    """One medicine in play: a new item (`position` set) or a current medication (None)."""

    drug: Drug
    position: int | None
    ingredients: frozenset[str]
    classes: frozenset[str]
    started_on: date | None = None

    @classmethod
    def of(cls, drug: Drug, *, position: int | None = None, started_on: date | None = None) -> Participant:
        return cls(drug, position, ingredients_of(drug), classes_of(drug), started_on)

    @property
    def is_new(self) -> bool:
        return self.position is not None

    @property
    def is_combination(self) -> bool:
        return len(self.ingredients) > 1 or len(self.classes) > 1


@dataclass(frozen=True)
class Context:
    """The patient facts a rule's conditions read. `egfr` is the conservative value (a stale
    eGFR already stepped down one band); `renal` is CrCl where known, else that eGFR."""

    egfr: Decimal | None = None
    renal: Decimal | None = None
    diabetes: bool = False
    dementia: bool = False
    age: int | None = None


def condition_holds(condition: dict, context: Context) -> bool:
    """Whether every part of `condition` holds (unknown facts never satisfy a condition)."""
    for name, value in condition.items():
        if name == "egfr_below":
            if context.egfr is None or context.egfr >= Decimal(str(value)):
                return False
        elif name == "crcl_below":
            if context.renal is None or context.renal >= Decimal(str(value)):
                return False
        elif name == "age_from":
            if context.age is None or context.age < int(value):
                return False
        elif name in ("diabetes", "dementia"):
            if getattr(context, name) is not bool(value):
                return False
        else:
            raise ValueError(f"unknown condition {name!r}")
    return True


@dataclass(frozen=True)
class Group:
    classes: frozenset[str]
    ingredients: frozenset[str]
    except_classes: frozenset[str] = frozenset()  # e.g. an ARNI is not "an ARB" for the ACEi + ARB rule

    def matches(self, participant: Participant) -> bool:
        if self.except_classes & participant.classes:
            return False
        return bool(self.classes & participant.classes or self.ingredients & participant.ingredients)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    groups: tuple[Group, ...]
    when: dict
    raise_to: str | None
    raise_when_any: tuple[dict, ...]
    mechanism: dict
    advice: dict
    source: str

    def grade(self, context: Context) -> str:
        if self.raise_to and any(condition_holds(c, context) for c in self.raise_when_any):
            return max(self.severity, self.raise_to, key=GRADES.index)
        return self.severity


@dataclass(frozen=True)
class AllowedPair:
    id: str
    first: frozenset[str]
    second: frozenset[str]

    def allows(self, a: Participant, b: Participant) -> bool:
        return bool((a.ingredients & self.first and b.ingredients & self.second)
                    or (b.ingredients & self.first and a.ingredients & self.second))


@dataclass(frozen=True)
class Table:
    version: str
    rules: tuple[Rule, ...]
    index: dict  # ("class" | "ingredient", name) -> tuple of rule positions
    exempt_classes: frozenset[str]
    allowed: tuple[AllowedPair, ...]

    def candidates(self, participants: Iterable[Participant]) -> list[Rule]:
        found: set[int] = set()
        for p in participants:
            for name in p.classes:
                found.update(self.index.get(("class", name), ()))
            for name in p.ingredients:
                found.update(self.index.get(("ingredient", name), ()))
        return [self.rules[i] for i in sorted(found)]


def load_yaml(name: str) -> dict:
    with open(KNOWLEDGE_DIR / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@cache
def table() -> Table:
    """The interaction table, read and indexed once per process."""
    data = load_yaml("interactions.yaml")
    rules, index = [], {}
    for position, raw in enumerate(data["rules"]):
        groups = tuple(Group(frozenset(g.get("classes", ())), frozenset(g.get("ingredients", ())),
                             frozenset(g.get("except_classes", ()))) for g in raw["groups"])
        raised = raw.get("raise") or {}
        rule = Rule(raw["id"], raw["severity"], groups, raw.get("when") or {}, raised.get("severity"),
                    tuple(raised.get("when_any", ())), raw["mechanism"], raw["advice"], raw["source"])
        if rule.severity not in GRADES or (rule.raise_to and rule.raise_to not in GRADES):
            raise ValueError(f"interaction {rule.id}: unknown severity")
        if len(groups) == 1 and not rule.when:
            raise ValueError(f"interaction {rule.id}: a one-medicine rule needs a `when`")
        rules.append(rule)
        for group in groups:
            for name in group.classes:
                index.setdefault(("class", name), set()).add(position)
            for name in group.ingredients:
                index.setdefault(("ingredient", name), set()).add(position)
    duplicates = data.get("duplicates") or {}
    allowed = tuple(AllowedPair(a["id"], frozenset(a["ingredients"][0]), frozenset(a["ingredients"][1]))
                    for a in duplicates.get("allowed", ()))
    return Table(str(data["version"]), tuple(rules), {k: tuple(sorted(v)) for k, v in index.items()},
                 frozenset(duplicates.get("exempt_classes", ())), allowed)


@dataclass(frozen=True)
class Hit:
    rule: Rule
    severity: str
    anchor: Participant  # the new item the finding is attached to
    participants: tuple[Participant, ...]


def _valid_combination(combo: Sequence[Participant]) -> bool:
    distinct = {id(p) for p in combo}
    if len(distinct) < 2 or not any(p.is_new for p in combo):
        return False
    # One medicine may fill two groups only when it is a combination of both (losartan/HCTZ
    # is the ARB and the diuretic of a triple whammy); never one plain drug twice.
    return all(p.is_combination for p in combo if combo.count(p) > 1)


def interaction_hits(participants: Sequence[Participant], context: Context) -> list[Hit]:
    """The rules that fire, one hit per rule and new item (the latest new item in the match)."""
    hits = []
    for rule in table().candidates(participants):
        if rule.when and not condition_holds(rule.when, context):
            continue
        matching = [[p for p in participants if group.matches(p)] for group in rule.groups]
        if not all(matching):
            continue
        severity = rule.grade(context)
        if len(rule.groups) == 1:
            hits.extend(Hit(rule, severity, p, (p,)) for p in matching[0] if p.is_new)
            continue
        anchored: dict[int, Hit] = {}
        for combo in itertools.product(*matching):
            if not _valid_combination(combo):
                continue
            anchor = max((p for p in combo if p.is_new), key=lambda p: p.position)
            if anchor.position not in anchored:
                unique = tuple(dict.fromkeys(combo))
                anchored[anchor.position] = Hit(rule, severity, anchor, unique)
        hits.extend(anchored[position] for position in sorted(anchored))
    return hits


@dataclass(frozen=True)
class Duplicate:
    item: Participant
    other: Participant
    same_ingredient: bool
    shared_class: str | None


def duplicate_hits(participants: Sequence[Participant]) -> list[Duplicate]:
    """Each new item that repeats an ingredient or (non-exempt) class of an earlier item or of
    a current medication, unless the pair is an allowed combination (DAPT). A new item with the
    same ingredients as a current medication is its renewal, not a duplicate."""
    t = table()
    found = []
    for item in (p for p in participants if p.is_new):
        others = [p for p in participants
                  if p is not item and (not p.is_new or p.position < item.position)]
        for other in others:
            if not other.is_new and other.ingredients == item.ingredients:
                continue
            shared_ingredient = bool(item.ingredients & other.ingredients)
            shared = sorted((item.classes & other.classes) - t.exempt_classes)
            if not shared_ingredient and (not shared or any(a.allows(item, other) for a in t.allowed)):
                continue
            found.append(Duplicate(item, other, shared_ingredient, None if shared_ingredient else shared[0]))
            break
    return found


def version() -> str:
    return table().version
