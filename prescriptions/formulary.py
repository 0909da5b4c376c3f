"""The formulary (药品目录): `prescriptions/knowledge/formulary.yaml`, validated and loaded.

The data file is the one place a drug's doses, renal steps, classes and legal class are
written; a change to it is a reviewable diff with a new `version` (docs/formulary.md). This
module reads it (`formulary_read`), refuses a bad entry naming its code and field
(`formulary_validate`), and upserts it into `Drug` by code (`formulary_load`): changed rows are
saved with a history row, codes no longer in the file are deactivated, never deleted (signed
prescriptions reference them). `manage.py load_formulary`, migration 0008 and the demo seed call
`formulary_load`; the checks record `formulary_version()` on each prescription.

Sources are named in each entry's `source` (product labels / 说明书, KDIGO, AGS Beers 2023,
Chinese guidelines); the list is in docs/formulary.md.

`allergy_groups` carries cross-reactivity that the therapeutic class does not: the thiazide,
thiazide-like and loop diuretics, the sulfonylureas and celecoxib are sulfonamide derivatives
whose labels contraindicate them in sulfonamide hypersensitivity; aspirin and the other NSAIDs
cross-react (aspirin-exacerbated respiratory disease); a penicillin or cephalosporin allergy
is recorded by those group names.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

import yaml
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from cloudhospital.audit import stamp
from cloudhospital.errors import DomainError, Kind
from cloudhospital.pinyin import usual_initials
from prescriptions.models import Drug, LegalClass, RenalMeasure, TherapeuticClass

FORMULARY_FILE = Path(__file__).resolve().parent / "knowledge" / "formulary.yaml"

SULFONAMIDE = "sulfonamide"
NSAID = "nsaid"
PENICILLIN = "penicillin"
CEPHALOSPORIN = "cephalosporin"
ALLERGY_GROUPS = frozenset({SULFONAMIDE, NSAID, PENICILLIN, CEPHALOSPORIN})

# The units a product is dosed in; the checks convert between the masses (checks.MASS_IN_MG)
# and take IU and mL as written.
STRENGTH_UNITS = ("mg", "µg", "g", "IU", "mL")
ROUTES = ("oral", "sublingual", "subcutaneous", "intramuscular", "intravenous", "inhaled", "topical", "rectal")

_REQUIRED = (
    "code", "generic_name", "generic_name_zh", "ingredient", "ingredient_zh", "atc_code", "form", "strength",
    "strength_unit", "route", "therapeutic_class", "legal_class", "antimicrobial", "special_storage", "chronic_use",
    "usual_daily_dose", "max_daily_dose", "source",
)
_OPTIONAL = (
    "extra_classes", "allergy_groups", "min_daily_dose", "max_single_dose", "elderly_max_daily_dose", "renal",
    "prescription_only", "active",
)
_TEXT_LENGTHS = {"code": 20, "generic_name": 80, "generic_name_zh": 80, "ingredient": 60, "ingredient_zh": 30,
                 "atc_code": 8, "form": 40, "source": 600}
_FLAGS = ("antimicrobial", "special_storage", "chronic_use", "prescription_only", "active")
# Decimal places each number may have (the Drug columns).
_DOSES = {"strength": 2, "usual_daily_dose": 2, "max_daily_dose": 2, "min_daily_dose": 3, "max_single_dose": 2,
          "elderly_max_daily_dose": 2}
_RENAL = {"measure": None, "contraindicated_below": 1, "cap_below": 1, "cap": 2, "reduce_below": 1, "reduced": 2}
_RENAL_COLUMNS = {"contraindicated_below": "renal_contraindicated_below", "cap_below": "renal_cap_below",
                  "cap": "renal_max_daily_dose", "reduce_below": "renal_reduce_below",
                  "reduced": "renal_reduced_max_daily_dose"}


class FormularyInvalid(DomainError):
    """The data file breaks a rule; `field` is "<code>.<field>" (or the top-level key)."""

    def __init__(self, code: str, field_name: str, problem: str):
        super().__init__(_("Formulary entry %(code)s, field %(field)s: %(problem)s")
                         % {"code": code, "field": field_name, "problem": problem},
                         code="formulary_invalid", field=f"{code}.{field_name}", kind=Kind.INVALID)
        self.entry_code = code
        self.entry_field = field_name


@dataclass(frozen=True)
class Formulary:
    version: str
    entries: tuple  # Drug field values per entry, in file order


@dataclass
class FormularyReport:
    version: str
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    deactivated: list = field(default_factory=list)
    applied: bool = True

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deactivated)

    def summary(self) -> str:
        return (f"formulary {self.version}: {len(self.created)} new, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged, {len(self.deactivated)} deactivated")


# --- Validation (pure) ------------------------------------------------------------------------
def _decimal(code: str, name: str, value, places: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FormularyInvalid(code, name, _("must be a number"))
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise FormularyInvalid(code, name, _("must be a number")) from None
    if not number.is_finite() or number <= 0:
        raise FormularyInvalid(code, name, _("must be a positive number"))
    if -number.as_tuple().exponent > places:
        raise FormularyInvalid(code, name, _("has more than %(places)d decimal places") % {"places": places})
    return number


def _renal(code: str, renal) -> dict:
    if not isinstance(renal, dict):
        raise FormularyInvalid(code, "renal", _("must be a mapping"))
    for key in renal:
        if key not in _RENAL:
            raise FormularyInvalid(code, f"renal.{key}", _("is not a known field"))
    if renal.get("measure") not in RenalMeasure.values:
        raise FormularyInvalid(code, "renal.measure", _("must be one of %(choices)s")
                               % {"choices": ", ".join(RenalMeasure.values)})
    values = {k: _decimal(code, f"renal.{k}", v, _RENAL[k]) for k, v in renal.items() if k != "measure"}
    # A cap without its threshold (or the reverse) would silently never apply.
    for below, cap in (("cap_below", "cap"), ("reduce_below", "reduced")):
        if (below in values) != (cap in values):
            raise FormularyInvalid(code, f"renal.{cap if below in values else below}",
                                   _("must be given together with renal.%(other)s")
                                   % {"other": below if below in values else cap})
    if len(values) == 0:
        raise FormularyInvalid(code, "renal", _("names no threshold"))
    if "cap_below" in values and "reduce_below" in values:
        if values["cap_below"] >= values["reduce_below"]:
            raise FormularyInvalid(code, "renal.cap_below", _("must be below renal.reduce_below"))
        if values["cap"] > values["reduced"]:
            raise FormularyInvalid(code, "renal.cap", _("must not exceed renal.reduced"))
    for below in ("cap_below", "reduce_below"):
        if "contraindicated_below" in values and below in values and values[below] <= values["contraindicated_below"]:
            raise FormularyInvalid(code, f"renal.{below}", _("must be above renal.contraindicated_below"))
    return {"renal_measure": renal["measure"], **{_RENAL_COLUMNS[k]: v for k, v in values.items()}}


def _entry(raw, position: int, seen: set) -> dict:
    code = raw.get("code") if isinstance(raw, dict) else None
    if not isinstance(code, str) or not code.strip():
        raise FormularyInvalid(f"drugs[{position}]", "code", _("is missing"))
    for key in raw:
        if key not in _REQUIRED and key not in _OPTIONAL:
            raise FormularyInvalid(code, key, _("is not a known field"))
    for key in _REQUIRED:
        if raw.get(key) in (None, ""):
            raise FormularyInvalid(code, key, _("is missing"))
    if code in seen:
        raise FormularyInvalid(code, "code", _("appears twice"))
    seen.add(code)
    for key, length in _TEXT_LENGTHS.items():
        if not isinstance(raw[key], str) or len(raw[key]) > length:
            raise FormularyInvalid(code, key, _("must be text of at most %(length)d characters") % {"length": length})
    for key in _FLAGS:
        if key in raw and not isinstance(raw[key], bool):
            raise FormularyInvalid(code, key, _("must be true or false"))
    choices = (("therapeutic_class", TherapeuticClass.values), ("legal_class", LegalClass.values),
               ("strength_unit", STRENGTH_UNITS), ("route", ROUTES))
    for key, allowed in choices:
        if raw[key] not in allowed:
            raise FormularyInvalid(code, key, _("must be one of %(choices)s") % {"choices": ", ".join(allowed)})
    for key, allowed in (("extra_classes", TherapeuticClass.values), ("allergy_groups", sorted(ALLERGY_GROUPS))):
        items = raw.get(key, [])
        if not isinstance(items, list) or any(item not in allowed for item in items) or len(set(items)) != len(items):
            raise FormularyInvalid(code, key, _("must be a list of %(choices)s") % {"choices": ", ".join(allowed)})
    if raw["therapeutic_class"] in raw.get("extra_classes", []):
        raise FormularyInvalid(code, "extra_classes", _("repeats the therapeutic class"))
    doses = {key: _decimal(code, key, raw[key], places) for key, places in _DOSES.items() if raw.get(key) is not None}
    if doses["max_daily_dose"] < doses["usual_daily_dose"]:
        raise FormularyInvalid(code, "max_daily_dose", _("is below usual_daily_dose"))
    if doses.get("min_daily_dose", 0) > doses["usual_daily_dose"]:
        raise FormularyInvalid(code, "min_daily_dose", _("is above usual_daily_dose"))
    for key in ("max_single_dose", "elderly_max_daily_dose"):
        if doses.get(key, 0) > doses["max_daily_dose"]:
            raise FormularyInvalid(code, key, _("is above max_daily_dose"))
    values = {
        "code": code,
        **{key: raw[key] for key in ("generic_name", "generic_name_zh", "ingredient", "ingredient_zh", "atc_code",
                                      "form", "strength_unit", "route", "therapeutic_class", "legal_class",
                                      "antimicrobial", "special_storage", "chronic_use")},
        "extra_classes": list(raw.get("extra_classes", [])),
        "allergy_groups": list(raw.get("allergy_groups", [])),
        "strength": doses["strength"], "usual_daily_dose": doses["usual_daily_dose"],
        "max_daily_dose": doses["max_daily_dose"],
        "min_daily_dose": doses.get("min_daily_dose"), "max_single_dose": doses.get("max_single_dose"),
        "elderly_max_daily_dose": doses.get("elderly_max_daily_dose"),
        "renal_measure": RenalMeasure.EGFR.value, **{column: None for column in _RENAL_COLUMNS.values()},
        "prescription_only": raw.get("prescription_only", True), "active": raw.get("active", True),
        "source_note": raw["source"],
        "pinyin_initials": search_initials(raw["generic_name_zh"], raw["ingredient_zh"]),
    }
    if "renal" in raw:
        values.update(_renal(code, raw["renal"]))
        for column in ("renal_max_daily_dose", "renal_reduced_max_daily_dose"):
            if values[column] is not None and values[column] > values["max_daily_dose"]:
                raise FormularyInvalid(code, "renal.cap" if column == "renal_max_daily_dose" else "renal.reduced",
                                       _("is above max_daily_dose"))
    return values


def formulary_validate(data) -> Formulary:
    """The parsed file's entries as Drug field values, or FormularyInvalid naming the first
    bad entry's code and field."""
    if not isinstance(data, dict):
        raise FormularyInvalid("formulary", "drugs", _("the file must be a mapping with version and drugs"))
    for key in data:
        if key not in ("version", "drugs"):
            raise FormularyInvalid("formulary", key, _("is not a known field"))
    version = data.get("version")
    if not isinstance(version, str) or not version.strip() or len(version) > 40:
        raise FormularyInvalid("formulary", "version", _("must be text of at most %(length)d characters") % {"length": 40})
    if not isinstance(data.get("drugs"), list) or not data["drugs"]:
        raise FormularyInvalid("formulary", "drugs", _("must be a non-empty list"))
    seen: set = set()
    return Formulary(version=version, entries=tuple(_entry(raw, i, seen) for i, raw in enumerate(data["drugs"])))


def search_initials(*names: str) -> str:
    """The pinyin initials stored for search: the usual reading of the Chinese name, then
    the ingredient's when it is not already inside ("ysdelzp" for 盐酸地尔硫䓬片)."""
    keys: list[str] = []
    for name in names:
        key = usual_initials(name) if name else ""
        if key and not any(key in other for other in keys):
            keys.append(key)
    return " ".join(keys)[:40]


# --- Reading the file -------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _read(path: str, mtime_ns: int) -> Formulary:
    with open(path, encoding="utf-8") as stream:
        return formulary_validate(yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


def formulary_read(path: Path | str = FORMULARY_FILE) -> Formulary:
    """The validated formulary file (cached until the file changes)."""
    path = Path(path)
    return _read(str(path), path.stat().st_mtime_ns)


def formulary_version() -> str:
    """The version of the formulary file in force, as the checks record it."""
    return formulary_read().version


# --- Loading ----------------------------------------------------------------------------------
def formulary_load(*, by=None, formulary: Formulary | None = None, check: bool = False,
                   deactivate_missing: bool = True, model=Drug) -> FormularyReport:
    """Upsert every entry by code; only rows whose values differ are saved (each with a
    history row attributed to `by`). Active codes absent from the file are deactivated when
    `deactivate_missing` (never deleted: prescriptions reference them). `check` computes the
    report and writes nothing. `model` is the migration's historical Drug in migration 0008,
    which keeps only the fields that model has and writes no history."""
    formulary = formulary or formulary_read()
    report = FormularyReport(version=formulary.version, applied=not check)
    columns = {f.name for f in model._meta.concrete_fields}
    real = model is Drug
    reason = f"formulary {formulary.version}"
    with transaction.atomic():
        existing = {drug.code: drug for drug in model.objects.select_for_update().all()}
        new = []
        for entry in formulary.entries:
            values = {name: value for name, value in entry.items() if name in columns and name != "code"}
            drug = existing.get(entry["code"])
            if drug is None:
                new.append(model(code=entry["code"], **values))
                report.created.append(entry["code"])
                continue
            if not any(getattr(drug, name) != value for name, value in values.items()):
                report.unchanged.append(entry["code"])
                continue
            for name, value in values.items():
                setattr(drug, name, value)
            report.updated.append(entry["code"])
            if not check:
                if real:
                    stamp(drug, by=by, reason=reason)
                drug.full_clean()
                drug.save()
        if new and not check:
            _insert(new, model=model, by=by, reason=reason)
        if deactivate_missing:
            codes = {entry["code"] for entry in formulary.entries}
            for drug in existing.values():
                if drug.active and drug.code not in codes:
                    report.deactivated.append(drug.code)
                    if not check:
                        drug.active = False
                        if real:
                            stamp(drug, by=by, reason=f"not in formulary {formulary.version}")
                        drug.save(update_fields=["active"])
    return report


def _insert(drugs: list, *, model, by, reason: str) -> None:
    """Insert new formulary rows in one statement (a first load is the whole file), each
    validated as a save would be; the real Drug gets one history row per drug, attributed to
    `by`. Codes need no uniqueness query: formulary_validate refused duplicates, and they are
    absent from the table (`existing` was read under the lock)."""
    for drug in drugs:
        drug.full_clean(validate_unique=False, validate_constraints=False)
    if model is Drug:
        bulk_create_with_history(drugs, Drug, batch_size=500, default_user=by if getattr(by, "pk", None) else None,
                                 default_change_reason=reason[:100])
    else:
        model.objects.bulk_create(drugs, batch_size=500)


def drugs_matching(query: str):
    """Active drugs whose code, English or Chinese name, ingredient or stored pinyin initials
    contain `query` ("delz" finds 盐酸地尔硫䓬片): the one search the prescribing panel uses."""
    needle = query.strip()
    found = Drug.objects.filter(active=True)
    if not needle:
        return found.none()
    compact = needle.lower().replace(" ", "")
    return found.filter(
        Q(code__icontains=needle) | Q(generic_name__icontains=needle) | Q(generic_name_zh__icontains=compact)
        | Q(ingredient__icontains=needle) | Q(ingredient_zh__icontains=compact) | Q(pinyin_initials__icontains=compact)
    )


def __getattr__(name: str):
    """`FORMULARY` (the file's entries as Drug field values, for code that needs the list
    without the database) and `FORMULARY_CODES`, read on first use rather than at import."""
    if name == "FORMULARY":
        return [dict(entry) for entry in formulary_read().entries]
    if name == "FORMULARY_CODES":
        return [entry["code"] for entry in formulary_read().entries]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
