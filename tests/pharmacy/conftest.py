import pytest

from tests.factories import DrugFactory

# Drum Tower (鼓楼), Haishu, Ningbo: the patient's home in most tests.
HOME = (29.8760, 121.5470)
KM_PER_DEG_LAT = 111.2


def north_of_home(km: float) -> tuple[float, float]:
    """A point `km` due north of HOME (distance along a meridian is simple to check)."""
    return HOME[0] + km / KM_PER_DEG_LAT, HOME[1]


@pytest.fixture
def drugs(db):
    """Three formulary drugs: the shape of a typical three-item prescription."""
    return [
        DrugFactory(code="AML5", generic_name="Amlodipine"),
        DrugFactory(code="VAL80", generic_name="Valsartan", therapeutic_class="arb"),
        DrugFactory(code="MET500", generic_name="Metformin", therapeutic_class="biguanide"),
    ]


# --- Orders ---------------------------------------------------------------------------------
@pytest.fixture
def rx(db, family, drugs):
    """Zhang Lin's approved, really signed prescription: 14 amlodipine and 28 valsartan.
    His daughter (a proxy with her own login) orders for him."""
    from tests.factories import ApprovedPrescriptionFactory

    _, father = family
    return ApprovedPrescriptionFactory(patient=father, items=[(drugs[0], 14), (drugs[1], 28)])


@pytest.fixture
def stocked():
    """stocked(pharmacy_or_None, amlodipine=100, valsartan=100, **pharmacy_fields) -> a
    pharmacy holding those quantities of the `rx` drugs."""
    from tests.factories import PharmacyFactory, StockFactory

    def make(pharmacy=None, *, aml=100, val=100, **fields):
        from prescriptions.models import Drug

        pharmacy = pharmacy or PharmacyFactory(**fields)
        for code, quantity in (("AML5", aml), ("VAL80", val)):
            if quantity is not None:
                StockFactory(pharmacy=pharmacy, drug=Drug.objects.get(code=code), on_hand=quantity)
        return pharmacy

    return make
