"""GET /api/notifications/: the logged-in user's own notifications, newest first."""

import django_filters
from rest_framework import generics, serializers

from cloudhospital.api.filters import IdFilter

from cloudhospital.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "data", "patient", "created_at", "sent_at"]
        read_only_fields = fields


class NotificationFilter(django_filters.FilterSet):
    # A plain number, not a model choice: an unknown patient id must not answer differently
    # from someone else's.
    patient = IdFilter(field_name="patient_id")

    class Meta:
        model = Notification
        fields = ["kind", "patient"]


class NotificationListView(generics.ListAPIView):
    """Notifications addressed to you: about yourself and the family members you act for.
    Filter with ?kind=booking_reminder."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return Notification.objects.filter(recipients=self.request.user).order_by("-created_at", "-id")
