"""Demo formulary and the hospital's review pharmacist. Idempotent: each drug is upserted
by its code and the pharmacist by phone, so running it twice changes nothing and running it
after editing formulary.py updates the rows in place."""

from decimal import Decimal

from cloudhospital.audit import stamp
from cloudhospital.models import Role, User
from prescriptions.formulary import FORMULARY
from prescriptions.models import Drug

_DECIMAL_FIELDS = {
    "strength", "usual_daily_dose", "max_daily_dose", "renal_contraindicated_below", "renal_cap_below",
    "renal_max_daily_dose", "renal_reduce_below", "renal_reduced_max_daily_dose",
}


def _values(entry: dict) -> dict:
    return {
        name: (Decimal(value) if name in _DECIMAL_FIELDS and value is not None else value)
        for name, value in entry.items()
        if name != "code"
    }


def seed(*, by=None, stdout=None, password: str | None = None) -> dict:
    """Upsert every formulary entry by code; only rows whose values differ are saved (and get a history row)."""
    existing = {drug.code: drug for drug in Drug.objects.filter(code__in=[e["code"] for e in FORMULARY])}
    created = updated = 0
    drugs = {}
    for entry in FORMULARY:
        values = _values(entry)
        drug = existing.get(entry["code"])
        if drug is None:
            drug = Drug(code=entry["code"], **values)
            created += 1
        elif any(getattr(drug, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(drug, name, value)
            updated += 1
        else:
            drugs[drug.code] = drug
            continue
        stamp(drug, by=by, reason="formulary seed")
        drug.full_clean()
        drug.save()
        drugs[drug.code] = drug
    if stdout:
        stdout.write(f"  formulary: {len(drugs)} drugs ({created} new, {updated} updated)")
    return {"drugs": drugs, "review_pharmacist": review_pharmacist_seed(password=password, stdout=stdout)}


REVIEW_PHARMACIST = {"phone": "13500000001", "full_name": "李审方 Li Shenfang"}


def review_pharmacist_seed(*, password: str | None, stdout=None) -> User:
    """The internet hospital's review pharmacist (审方药师): role pharmacist, no pharmacy
    membership (see prescriptions.selectors). Created once; an existing login is left as it is."""
    user = User.objects.filter(phone="+86" + REVIEW_PHARMACIST["phone"]).first()
    if user is None:
        user = User.objects.create_user(REVIEW_PHARMACIST["phone"], password, full_name=REVIEW_PHARMACIST["full_name"],
                                        role=Role.PHARMACIST)
    if stdout:
        stdout.write(f"  review pharmacist 审方药师: phone {REVIEW_PHARMACIST['phone']}")
    return user
