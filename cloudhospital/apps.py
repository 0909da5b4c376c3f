from django.apps import AppConfig


class CloudHospitalConfig(AppConfig):
    name = "cloudhospital"
    verbose_name = "Accounts and audit"
