"""Demo data for prescriptions: the review pharmacist, idempotent."""

import pytest
from django.core.management import call_command

from cloudhospital.models import Role, User
from prescriptions import demo
from prescriptions.permissions import is_review_pharmacist

pytestmark = pytest.mark.django_db


def test_seed_creates_one_review_pharmacist_who_can_log_in_and_running_twice_adds_nothing():
    first = demo.seed(password="pw-123456")["review_pharmacist"]
    second = demo.seed(password="pw-123456")["review_pharmacist"]
    assert first.pk == second.pk and first.phone == "+8613500000001"
    assert User.objects.filter(role=Role.PHARMACIST, phone="+8613500000001").count() == 1
    assert first.check_password("pw-123456") and is_review_pharmacist(first)


def test_seed_demo_prints_the_review_pharmacist_login(capsys):
    call_command("seed_demo")
    assert "13500000001" in capsys.readouterr().out
