"""Users and roles, and the access log that records every read of a health record by staff."""

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class Role(models.TextChoices):
    PATIENT = "patient", "Patient (account holder)"
    DOCTOR = "doctor", "Doctor"
    PHARMACIST = "pharmacist", "Pharmacist"
    PHARMACY_STAFF = "pharmacy_staff", "Pharmacy staff"
    HOSPITAL_ADMIN = "hospital_admin", "Hospital admin"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, phone, password=None, **extra):
        from cloudhospital.identity import normalise_mobile

        user = self.model(phone=normalise_mobile(phone), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, phone, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", Role.HOSPITAL_ADMIN)
        return self.create_user(phone, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A login. People sign in with their mobile phone number (stored as +86...)."""

    phone = models.CharField(max_length=16, unique=True)
    full_name = models.CharField(max_length=64)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PATIENT)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May log in to the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)
    language = models.CharField(
        max_length=10, blank=True, choices=settings.LANGUAGES,
        help_text="The language of messages and pages for this user; blank follows the browser (Accept-Language).",
    )
    large_text = models.BooleanField(
        default=False, help_text="Elder-friendly pages (适老化): large type and high contrast, on every device this user logs in on.",
    )

    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    objects = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["id"]
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self):
        return f"{self.full_name} ({self.get_role_display()})"

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.full_name


class AccessLog(models.Model):
    """Who read which patient's record, when, from where, and on what grounds (e.g. which
    booking). Append-only and tamper-evident: each row carries `hash`, a SHA-256 over its
    content and the previous row's hash of the same patient (`seq` numbers that patient's
    chain), so a changed, removed or inserted row breaks the chain (`manage.py
    audit_verify`). On PostgreSQL a trigger refuses UPDATE and DELETE on the table. Written
    only through cloudhospital.audit."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("consult.Patient", on_delete=models.PROTECT, related_name="access_logs")
    action = models.CharField(max_length=40)
    reason = models.CharField(max_length=200, blank=True)
    ip = models.CharField(max_length=64, blank=True, help_text="The client's address as the server saw it.")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    seq = models.PositiveIntegerField(help_text="Position in this patient's chain, from 1.")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "访问日志"
        verbose_name_plural = "访问日志"
        constraints = [models.UniqueConstraint(fields=["patient", "seq"], name="access_log_one_row_per_link")]

    def __str__(self):
        at = timezone.localtime(self.at) if self.at and timezone.is_aware(self.at) else self.at
        when = f" at {at:%Y-%m-%d %H:%M}" if at else ""
        return f"{self.user} {self.action} {self.patient}{when}"


class Notification(models.Model):
    """A message to a patient's account and every proxy acting for them (reminders,
    cancellations, pharmacy order steps...). Created through
    `cloudhospital.notifications.notification_send`.

    `key` makes sending idempotent: a retried task that sends the same notification again
    finds the existing row and sends nothing.
    """

    patient = models.ForeignKey(
        "consult.Patient", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="notifications")
    kind = models.CharField(max_length=40, db_index=True)
    title = models.CharField(max_length=120)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True, help_text='References for clients, e.g. {"booking": 12}.')
    key = models.CharField(max_length=120, unique=True, help_text="Idempotency key, e.g. booking:12:reminder:7.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "通知"
        verbose_name_plural = "通知"

    def __str__(self):
        return f"{self.kind}: {self.title}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "待投递 Pending"
    DONE = "done", "已完成 Done"
    DEAD = "dead", "已放弃 Given up"


class OutboxMessage(models.Model):
    """A side effect that leaves the database (a notification to send, a webhook to post, a
    reminder, a slot regeneration), written in the same transaction as the change that
    causes it and carried out by the relay (cloudhospital.outbox): nothing is lost when the
    broker or a worker dies between the commit and the effect.

    `task` names the registered Celery task that performs the effect; the relay runs it
    in its own process and marks the row done only once it returned.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "待投递消息"
        verbose_name_plural = "待投递消息"
        indexes = [
            models.Index(fields=["next_attempt_at"], name="outbox_pending_due",
                         condition=models.Q(status="pending")),
        ]

    def __str__(self):
        return f"{self.task}{tuple(self.args)} ({self.status}, {self.attempts} attempts)"


class SocketTicket(models.Model):
    """A one-time ticket that opens one signalling socket for one user and one consultation,
    for clients that cannot send a session cookie (mobile apps). Only its SHA-256 is stored;
    it is spent on first use, expires after SIGNALLING_TICKET_TTL_SECONDS, and logging out
    revokes the user's unspent tickets."""

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    consultation = models.ForeignKey("consult.Consultation", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "视频问诊连接票据"
        verbose_name_plural = "视频问诊连接票据"


class SecondFactorCheck(models.Model):
    """When one login (an API token or a browser session) last proved its second factor
    (cloudhospital.step_up). Keyed by a hash of the credential, never the credential itself:
    a token verified says nothing about another token of the same user."""

    credential = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the login's kind and key.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    verified_at = models.DateTimeField()

    class Meta:
        verbose_name = "第二因素验证"
        verbose_name_plural = "第二因素验证"

    def __str__(self):
        return f"{self.user} verified at {self.verified_at:%Y-%m-%d %H:%M}"


class LegalHold(models.Model):
    """Records that must not be purged whatever their age (a dispute, a complaint, an
    inquiry): every record of one patient, or one specific object (a consultation, a
    prescription...). Active until released; cloudhospital.retention skips what an active
    hold covers and reports it as held."""

    patient = models.ForeignKey("consult.Patient", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="legal_holds", help_text="Hold every record of this patient.")
    content_type = models.ForeignKey("contenttypes.ContentType", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", help_text="Or hold one object: its type...")
    object_id = models.CharField(max_length=40, blank=True, help_text="...and its id.")
    reason = models.CharField(max_length=500)
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    placed_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")

    history = HistoricalRecords()

    class Meta:
        ordering = ["-placed_at", "-id"]
        verbose_name = "法律保全"
        verbose_name_plural = "法律保全"
        constraints = [
            # A hold covers a patient or one object, never both or neither.
            models.CheckConstraint(
                name="legal_hold_patient_or_object",
                condition=(models.Q(patient__isnull=False, content_type__isnull=True, object_id=""))
                | (models.Q(patient__isnull=True, content_type__isnull=False) & ~models.Q(object_id="")),
            ),
        ]

    def __str__(self):
        what = f"patient {self.patient_id}" if self.patient_id else f"{self.content_type} {self.object_id}"
        return f"Hold on {what}{' (released)' if self.released_at else ''}"

    @property
    def active(self) -> bool:
        return self.released_at is None


class PurgeRun(models.Model):
    """One run of `manage.py purge_expired`: as of when, dry or not, and per kind of record
    what was past retention, purged, held or skipped (cloudhospital.retention)."""

    started_at = models.DateTimeField(default=timezone.now)
    as_of = models.DateTimeField(help_text="The moment retention was measured against.")
    dry_run = models.BooleanField(default=False)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    report = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "过期数据清理记录"
        verbose_name_plural = "过期数据清理记录"

    def __str__(self):
        return f"Purge as of {self.as_of:%Y-%m-%d}{' (dry run)' if self.dry_run else ''}"


class RegulatorEvent(models.Model):
    """One event for the province's supervision platform (互联网医疗服务监管平台), written in the
    transaction that caused it (cloudhospital.regulator.regulator_report) and delivered by the
    outbox row `outbox`. `event_id` is stable across retries, so the platform drops a
    duplicate; `delivered_at` records the delivery that succeeded. Attempts and the last
    error are the outbox row's."""

    event_id = models.UUIDField(unique=True, editable=False)
    kind = models.CharField(max_length=40, db_index=True)
    occurred_at = models.DateTimeField(db_index=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    outbox = models.ForeignKey(OutboxMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivered_to = models.CharField(max_length=300, blank=True, help_text="The endpoint or local sink that took it.")

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = "监管平台上报事件"
        verbose_name_plural = "监管平台上报事件"

    def __str__(self):
        return f"{self.kind} {self.event_id}"
