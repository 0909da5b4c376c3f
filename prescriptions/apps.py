from django.apps import AppConfig


class PrescriptionsConfig(AppConfig):
    name = "prescriptions"
    verbose_name = "Formulary and e-prescriptions"

    def ready(self):
        from prescriptions import permissions  # noqa: F401  (registers the prescription rules)

        from prescriptions import retention

        retention.register()  # prescriptions in the retention table (cloudhospital.retention)
