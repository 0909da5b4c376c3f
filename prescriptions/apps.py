from django.apps import AppConfig


class PrescriptionsConfig(AppConfig):
    name = "prescriptions"
    verbose_name = "Formulary and e-prescriptions"

    def ready(self):
        from prescriptions import permissions  # noqa: F401  (registers the prescription rules)
        from consult.medications import formulary_lookup_register
        from prescriptions.coded_medications import formulary_get, formulary_search

        # The health record codes current medications against this formulary (consult may not import it).
        formulary_lookup_register(search=formulary_search, get=formulary_get)

        from prescriptions import retention

        retention.register()  # prescriptions in the retention table (cloudhospital.retention)
