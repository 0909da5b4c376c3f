"""The access log becomes a hash chain per patient, with the client's address; rows already
there are chained in the order they were written. On PostgreSQL a trigger refuses UPDATE and
DELETE on the table: the log is append-only even for someone with the application's
database login."""

import hashlib
import json

from django.db import migrations, models

GENESIS = "0" * 64

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION cloudhospital_accesslog_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the access log is append-only: %% refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER cloudhospital_accesslog_append_only
    BEFORE UPDATE OR DELETE ON cloudhospital_accesslog
    FOR EACH ROW EXECUTE FUNCTION cloudhospital_accesslog_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS cloudhospital_accesslog_append_only ON cloudhospital_accesslog;
DROP FUNCTION IF EXISTS cloudhospital_accesslog_append_only();
"""


def chain_existing(apps, schema_editor):
    AccessLog = apps.get_model("cloudhospital", "AccessLog")
    ends: dict[int, tuple[int, str]] = {}
    for row in AccessLog.objects.order_by("at", "id").iterator():
        seq, prev = ends.get(row.patient_id, (0, GENESIS))
        content = json.dumps([prev, row.patient_id, seq + 1, row.user_id, row.action, row.reason, row.ip,
                              row.at.isoformat(timespec="microseconds")], ensure_ascii=False, separators=(",", ":"))
        digest = hashlib.sha256(content.encode()).hexdigest()
        AccessLog.objects.filter(pk=row.pk).update(seq=seq + 1, prev_hash=prev, hash=digest)
        ends[row.patient_id] = (seq + 1, digest)


def trigger(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)
    return run


class Migration(migrations.Migration):
    dependencies = [("cloudhospital", "0006_outbox_unsent_notifications"), ("consult", "0005_identity_one_spelling")]

    operations = [
        migrations.AddField("accesslog", "ip", models.CharField(blank=True, max_length=64,
                                                                help_text="The client's address as the server saw it.")),
        migrations.AddField("accesslog", "seq", models.PositiveIntegerField(default=0,
                                                                            help_text="Position in this patient's chain, from 1.")),
        migrations.AddField("accesslog", "prev_hash", models.CharField(default="", max_length=64)),
        migrations.AddField("accesslog", "hash", models.CharField(default="", max_length=64)),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.AlterField("accesslog", "seq", models.PositiveIntegerField(help_text="Position in this patient's chain, from 1.")),
        migrations.AlterField("accesslog", "prev_hash", models.CharField(max_length=64)),
        migrations.AlterField("accesslog", "hash", models.CharField(max_length=64)),
        migrations.AlterModelOptions("accesslog", {"ordering": ["-at", "-id"], "verbose_name": "访问日志",
                                                   "verbose_name_plural": "访问日志"}),
        migrations.AddConstraint("accesslog", models.UniqueConstraint(fields=["patient", "seq"],
                                                                      name="access_log_one_row_per_link")),
        migrations.RunPython(trigger(APPEND_ONLY), trigger(DROP_APPEND_ONLY), elidable=False),
    ]
