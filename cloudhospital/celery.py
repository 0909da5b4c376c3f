"""The Celery app. Eager on the embedded default; a Redis broker when REDIS_URL is set."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudhospital.settings")

app = Celery("cloudhospital")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
