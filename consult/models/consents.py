"""Consent: the online-care informed consent (知情同意书) a patient or their guardian accepts
before the first online consult, and the consent under which a proxy acts for a patient.

The rules are in consult.consent; these are the records they keep.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class ConsentKind(models.TextChoices):
    ONLINE_CARE = "online_care", "Online-care informed consent"


class ConsentText(models.Model):
    """One version of a consent text, in Chinese and English. The current version of a kind
    is the highest version whose `effective_from` has come; a new version asks everyone to
    accept again."""

    kind = models.CharField(max_length=20, choices=ConsentKind.choices, default=ConsentKind.ONLINE_CARE)
    version = models.PositiveIntegerField()
    title_zh = models.CharField(max_length=120)
    title_en = models.CharField(max_length=120)
    text_zh = models.TextField()
    text_en = models.TextField()
    effective_from = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "-version"]
        verbose_name = "知情同意书文本"
        verbose_name_plural = "知情同意书文本"
        constraints = [models.UniqueConstraint(fields=["kind", "version"], name="consent_text_one_per_version")]

    def __str__(self):
        return f"{self.title_zh} v{self.version}"


class ConsentAcceptance(models.Model):
    """Who accepted which version of a consent, when, for which patient: the patient
    themself, or a proxy on the patient's behalf (`proxy_relationship` says what the patient
    is to them: a child's guardian, an elder's family)."""

    text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="acceptances")
    patient = models.ForeignKey("consult.Patient", on_delete=models.CASCADE, related_name="consent_acceptances")
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proxy_relationship = models.CharField(max_length=10, blank=True,
                                          help_text="Blank when the patient accepted; else the proxy link's relationship.")
    language = models.CharField(max_length=10, blank=True, help_text="The language the text was shown in.")
    accepted_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-accepted_at", "-id"]
        verbose_name = "知情同意记录"
        verbose_name_plural = "知情同意记录"
        constraints = [models.UniqueConstraint(fields=["patient", "text"], name="consent_accepted_once_per_version")]

    def __str__(self):
        return f"{self.patient} accepted {self.text} at {self.accepted_at:%Y-%m-%d %H:%M}"

    @property
    def on_behalf(self) -> bool:
        return bool(self.proxy_relationship)


class ProxyScope(models.TextChoices):
    """What a proxy may do for the patient."""

    BOOK = "book", "Book, check in and cancel visits"
    RECORD = "record", "Read and update the health record"
    MEDICINES = "medicines", "Manage medicines and orders"


class GrantorRole(models.TextChoices):
    """Who granted a proxy consent: the patient, or for a child or someone without capacity
    the recorded guardian."""

    PATIENT = "patient", "The patient"
    GUARDIAN = "guardian", "The recorded guardian"


class ProxyConsentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"


class ProxyConsent(models.Model):
    """The consent under which a proxy acts for a patient: granted by whom, for which
    actions (`scope`, a list of ProxyScope values), from when until when (open-ended when
    `ends_at` is empty), and whether it was revoked. A link with no consent in force gives
    its proxy nothing (consult.permissions.proxy_links_in_force)."""

    link = models.ForeignKey("consult.ProxyLink", on_delete=models.CASCADE, related_name="consents")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    grantor_role = models.CharField(max_length=10, choices=GrantorRole.choices)
    scope = models.JSONField(default=list)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=ProxyConsentStatus.choices, default=ProxyConsentStatus.ACTIVE)
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    revoke_reason = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-granted_at", "-id"]
        verbose_name = "代理授权"
        verbose_name_plural = "代理授权"
        indexes = [models.Index(fields=["link", "status"], name="proxy_consent_link_status")]

    def __str__(self):
        return f"{self.link}: {', '.join(self.scope)} ({self.status})"

    def in_force(self, at=None) -> bool:
        at = at or timezone.now()
        return (self.status == ProxyConsentStatus.ACTIVE and self.starts_at <= at
                and (self.ends_at is None or at < self.ends_at))
