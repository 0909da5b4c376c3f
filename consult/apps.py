from django.apps import AppConfig


class ConsultConfig(AppConfig):
    name = "consult"
    verbose_name = "Patients, clinics and consultations"

    def ready(self):
        from consult import permissions  # noqa: F401  (registers the consult rules)
        from consult import retention

        retention.register()  # its kinds of record in the retention table (cloudhospital.retention)
