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
