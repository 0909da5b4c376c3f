from django.apps import AppConfig


class PharmacyConfig(AppConfig):
    name = "pharmacy"
    verbose_name = "Pharmacies, stock and dispatch"
