"""Demo formulary and the hospital's review pharmacist. Idempotent: the formulary file is
upserted by code (prescriptions.formulary.formulary_load) and the pharmacist by phone, so
running it twice changes nothing and running it after editing formulary.yaml updates the rows
in place."""

from cloudhospital.models import Role, User
from prescriptions.formulary import formulary_load
from prescriptions.models import Drug


def seed(*, by=None, stdout=None, password: str | None = None) -> dict:
    """Load the formulary file; other drugs in the database are left as they are (removing a
    code is `manage.py load_formulary`'s job)."""
    report = formulary_load(by=by, deactivate_missing=False)
    codes = report.created + report.updated + report.unchanged
    drugs = {drug.code: drug for drug in Drug.objects.filter(code__in=codes)}
    if stdout:
        stdout.write(f"  formulary {report.version}: {len(drugs)} drugs ({len(report.created)} new, "
                     f"{len(report.updated)} updated)")
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
