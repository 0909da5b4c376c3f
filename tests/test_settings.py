"""The project runs from environment variables alone, and production settings pass Django's deploy check."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args, env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "PRESCRIPTION_SIGNING_SECRET", "DJANGO_SETTINGS_MODULE"}}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_deploy_check_is_clean_with_debug_off_and_a_real_secret():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_overrides={"DEBUG": "0", "SECRET_KEY": "x7#" + "k" * 60 + "-real-secret-Qw9!", "ALLOWED_HOSTS": "hospital.example.cn",
                       "PRESCRIPTION_SIGNING_SECRET": "s" * 48},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_off_without_a_secret_refuses_to_start():
    result = run_manage("check", env_overrides={"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_no_environment_at_all_means_production_and_refuses_to_start():
    result = run_manage("check", env_overrides={})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_without_a_signing_secret_refuses_to_start():
    result = run_manage("check", env_overrides={"DEBUG": "0", "SECRET_KEY": "x7#" + "k" * 60})
    assert result.returncode != 0
    assert "PRESCRIPTION_SIGNING_SECRET must be set" in result.stderr


def test_embedded_default_uses_sqlite_memory_layer_and_eager_celery():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='cloudhospital.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER, s.TIME_ZONE)"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60).stdout
    assert out.split() == ["django.db.backends.sqlite3", "channels.layers.InMemoryChannelLayer", "True", "Asia/Shanghai"]


def test_production_parts_are_chosen_from_the_environment():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='cloudhospital.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL)"
    )
    env = dict(os.environ, DATABASE_URL="postgres://postgres@127.0.0.1:5432/x", REDIS_URL="redis://127.0.0.1:6379/9")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60).stdout
    assert out.split() == [
        "django.db.backends.postgresql",
        "channels_redis.pubsub.RedisPubSubChannelLayer",
        "False",
        "redis://127.0.0.1:6379/9",
    ]


@pytest.mark.django_db
def test_landing_page_links_to_docs_and_admin(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/api/docs/"' in html and 'href="/admin/"' in html


@pytest.mark.django_db
def test_swagger_ui_and_schema_are_served(client):
    assert client.get("/api/docs/").status_code == 200
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/patients/{id}/record/" in schema.content
