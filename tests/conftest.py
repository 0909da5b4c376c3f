import os
from importlib import import_module

import pytest
from rest_framework.test import APIClient

from cloudhospital.celery import app as celery_app
from tests.factories import DependantFactory, PatientFactory


@pytest.fixture(autouse=True)
def _fast_and_eager(settings):
    # Argon2 is deliberately slow; tests that check the hasher itself restore it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    celery_app.conf.task_always_eager = True
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture(autouse=True)
def _seeded_rows(request):
    """The rows a data migration seeds (the online-care consent text, consult 0013) are there
    in every database test, as on a migrated server: a transactional test's flush empties
    every table for the tests after it, which would otherwise depend on the order they run in."""
    if "_django_db_helper" not in request.fixturenames and not request.node.get_closest_marker("django_db"):
        return
    request.getfixturevalue("_django_db_helper")
    from django.apps import apps

    from consult.models import ConsentText

    if not ConsentText.objects.exists():
        import_module("consult.migrations.0013_seed_online_care_consent_v1").seed(apps, None)


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def client_for():
    """client_for(user) -> an APIClient authenticated as that user."""

    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def family(db):
    """A daughter with her own login and her father as a dependant without one."""
    daughter = PatientFactory(full_name="张薇 Zhang Wei")
    father = DependantFactory(full_name="张林 Zhang Lin", proxy=daughter.account)
    return daughter, father


@pytest.fixture
def stranger(db):
    return PatientFactory(full_name="Stranger")


@pytest.fixture(autouse=True)
def _refusals_are_declared(monkeypatch):
    """Every refusal the API gives during the suite is one its schema declares
    (tests/error_contract.py)."""
    from cloudhospital.api.errors import ExceptionHandler
    from tests import error_contract

    original = ExceptionHandler.get_response
    record = os.environ.get("ERROR_CONTRACT_RECORD")  # a file: note the refusals instead

    def checked(self, exc, data):
        response = original(self, exc, data)
        request = self.context.get("request")
        if request is not None and isinstance(data, dict) and "errors" in data:
            codes = [e["code"] for e in data["errors"]]
            if record:
                error_contract.note(record, request.path, request.method, response.status_code, codes)
                return response
            problem = error_contract.undeclared(request.path, request.method, response.status_code, codes)
            assert problem is None, problem + " — declare it with @refuses(...) on the view"
        return response

    monkeypatch.setattr(ExceptionHandler, "get_response", checked)
