"""Where a doctor is registered to practise (多点执业): one row per doctor and hospital."""

from django.db import models
from simple_history.models import HistoricalRecords


class DoctorRegistration(models.Model):
    """A doctor's practice registration (执业注册/多点执业备案) at one of the group's hospitals.

    互联网诊疗监管细则（试行）: a doctor practising at an internet hospital is registered there; a
    doctor may be registered at several. Only an active registration at the clinic's hospital
    lets the doctor be booked there (consult.doctors), the doctor's own hospital included."""

    doctor = models.ForeignKey("consult.Doctor", on_delete=models.CASCADE, related_name="registrations")
    hospital = models.ForeignKey("consult.Hospital", on_delete=models.PROTECT, related_name="doctor_registrations")
    registered_on = models.DateField()
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["doctor_id", "registered_on"]
        constraints = [models.UniqueConstraint(fields=["doctor", "hospital"], name="doctor_registration_unique")]
        verbose_name = "医生执业注册"
        verbose_name_plural = "医生执业注册"

    def __str__(self):
        return f"{self.doctor} @ {self.hospital} ({'active' if self.active else 'inactive'})"
