import pytest
from rest_framework.test import APIClient

from pharmacy import demo
from pharmacy.models import Pharmacy, Stock
from tests.factories import DrugFactory

pytestmark = pytest.mark.django_db


def test_demo_seed_stocks_every_active_drug_and_publishes_a_working_token():
    drugs = [DrugFactory(), DrugFactory(), DrugFactory(active=False)]
    seeded = demo.seed()
    assert Pharmacy.objects.count() == 8
    assert {p.district.split()[0] for p in Pharmacy.objects.all()} == {"海曙区", "江北区", "鄞州区"}
    assert all(29.7 < p.latitude < 30.0 and 121.4 < p.longitude < 121.7 for p in Pharmacy.objects.all())
    assert Stock.objects.count() == 8 * 2 and not Stock.objects.filter(drug=drugs[2]).exists()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Pharmacy {seeded['token']}")
    assert client.get("/api/pharmacy/me/").json()["licence_number"] == "浙CB5740101"


def test_demo_seed_full_scale_adds_generated_pharmacies_once():
    DrugFactory()
    demo.seed(scale="full", full_count=30)
    counts = (Pharmacy.objects.count(), Stock.objects.count(), Pharmacy.history.count(), Stock.history.count())
    assert counts[:2] == (38, 38)
    demo.seed(scale="full", full_count=30)
    assert (Pharmacy.objects.count(), Stock.objects.count(), Pharmacy.history.count(), Stock.history.count()) == counts


def test_demo_seed_adds_stock_for_a_drug_added_later():
    demo.seed()
    DrugFactory()
    demo.seed()
    assert Stock.objects.count() == 8
