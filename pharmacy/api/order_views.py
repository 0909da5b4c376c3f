"""Order endpoints. The family: pharmacies for a prescription, place / list / read / cancel
orders, the FHIR MedicationDispense view. The pharmacy (token or staff login): its orders
and each step. Every write is one function in pharmacy.orders; who sees what comes from
pharmacy.selectors, so a foreign id is a 404."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from cloudhospital.api.fhir_format import FHIR_VIEW, FORMAT_PARAMETER
from cloudhospital.api import examples
from cloudhospital.api.refusals import refuses
from cloudhospital.api.pagination import query_without_paging
from cloudhospital.errors import DomainError, Kind
from pharmacy import dispatch, orders
from pharmacy.api.order_serializers import (
    DeliverSerializer,
    DispatchSerializer,
    EmptySerializer,
    OrderCreateSerializer,
    OrderSerializer,
    PharmaciesQuerySerializer,
    PharmacyOrderDetailSerializer,
    PharmacyOrderSerializer,
    PickUpSerializer,
    RejectSerializer,
    SignatureCheckSerializer,
)
from pharmacy.api.serializers import CandidateSerializer
from pharmacy.api.views import PharmacySideMixin
from pharmacy.models import Order, Pharmacy
from pharmacy.permissions import orders_for_pharmacy, orders_visible_to, prescriptions_orderable_by
from pharmacy.selectors import orders_for_display
from prescriptions import lifecycle as rx_lifecycle
from prescriptions.api.serializers import SigningKeySerializer
from prescriptions.models import SigningKey


def _parsed(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PrescriptionPharmaciesView(generics.GenericAPIView):
    """Pharmacies with every item of an approved prescription available, nearest first:
    the `limit` nearest, paginated like every list."""

    serializer_class = CandidateSerializer
    queryset = Pharmacy.objects.none()  # the candidates are computed, not filtered (pharmacy.dispatch)
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("lat", OpenApiTypes.FLOAT, required=True),
            OpenApiParameter("lng", OpenApiTypes.FLOAT, required=True),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1-100, default 10"),
        ],
        responses={200: CandidateSerializer(many=True)},
        summary="Pharmacies that can fill a prescription",
    )
    @refuses("prescription_not_orderable", "prescription_expired", "invalid_coordinates", "invalid_limit")
    def get(self, request, pk: int):
        prescription = get_object_or_404(prescriptions_orderable_by(request.user), pk=pk)
        query = PharmaciesQuerySerializer(data=query_without_paging(request))
        query.is_valid(raise_exception=True)
        rx_lifecycle.prescription_check_dispensable(prescription)
        candidates = dispatch.pharmacies_with_stock(items=orders.prescription_items(prescription), **query.validated_data)
        page = self.paginate_queryset(candidates)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The family's orders (patient and proxies): place, list, read, cancel, FHIR."""

    serializer_class = OrderSerializer
    filterset_fields = ["status", "kind", "prescription"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
    search_fields = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        return orders_for_display(orders_visible_to(self.request.user))

    def _render(self, order, status_code=status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=order.pk)).data, status=status_code)

    @extend_schema(request=OrderCreateSerializer, responses={201: OrderSerializer}, examples=examples.ORDER_CREATE)
    @refuses("prescription_invalid", "pharmacy_invalid", "forbidden", "invalid_kind", "pharmacy_required",
             "address_required", "recipient_name_required", "recipient_phone_required", "address_too_long",
             "recipient_name_too_long", "recipient_phone_too_long", "invalid_coordinates",
             "prescription_not_orderable", "prescription_expired", "order_exists", "out_of_stock",
             "pharmacy_inactive", "outside_delivery_area", "no_pharmacy_has_stock", "does_not_deliver",
             "invalid_transition")
    def create(self, request):
        """Order an approved prescription: `pickup` at `pharmacy`, or `delivery` to `address`
        at `lat`/`lng` (the nearest delivering pharmacy with everything takes it). Stock is
        reserved now; 409 when nobody has it, 422 when nobody delivers there."""
        data = _parsed(OrderCreateSerializer, request)
        prescription = prescriptions_orderable_by(request.user).filter(pk=data["prescription"]).first()
        if prescription is None:
            raise DomainError(_("No prescription of yours with this id."), code="prescription_invalid",
                              field="prescription", kind=Kind.INVALID)
        pharmacy = None
        if "pharmacy" in data:
            pharmacy = Pharmacy.objects.filter(pk=data["pharmacy"]).first()
            if pharmacy is None:
                raise DomainError(_("No pharmacy with this id."), code="pharmacy_invalid", field="pharmacy", kind=Kind.INVALID)
        order = orders.order_place(
            by=request.user, prescription=prescription, kind=data["kind"], pharmacy=pharmacy,
            lat=data.get("lat"), lng=data.get("lng"), address=data.get("address", ""),
            contact_name=data.get("contact_name", ""), contact_phone=data.get("contact_phone", ""),
        )
        return self._render(order, status.HTTP_201_CREATED)

    @extend_schema(request=EmptySerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    @refuses("forbidden", "invalid_transition", "wrong_order_kind")
    def cancel(self, request, pk=None):
        """Cancel before the pharmacy starts preparing; the reserved stock is released."""
        order = self.get_object()
        _parsed(EmptySerializer, request)
        return self._render(orders.order_cancel(order=order, by=request.user))

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, parameters=[FORMAT_PARAMETER],
                   summary="The order as FHIR R4 MedicationDispense resources")
    @action(detail=True, methods=["get"], **FHIR_VIEW)
    def fhir(self, request, pk=None):
        from pharmacy.fhir import order_bundle

        return Response(order_bundle(self.get_object()))


class PharmacyOrderViewSet(PharmacySideMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                           viewsets.GenericViewSet):
    """A pharmacy's orders (pharmacy token or staff login): only those routed to it now.

    Steps: `accept` (the signature is verified first) or `reject` (reason; the order moves
    to the next pharmacy); pickup: `preparing` → `ready` (a 6-digit code goes to the patient)
    → `picked-up` (enter the code; 5 wrong codes lock the order); delivery: `out-for-delivery`
    (courier name, phone, tracking number) → `delivered` (recipient, time). A step that does
    not follow from the current state answers 409 naming it."""

    serializer_class = PharmacyOrderSerializer
    filterset_fields = ["status", "kind"]
    ordering_fields = ["assigned_at", "created_at"]
    ordering = ["assigned_at", "id"]
    search_fields = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        return orders_for_display(orders_for_pharmacy(self.request.pharmacy))

    @extend_schema(responses=PharmacyOrderDetailSerializer)
    def retrieve(self, request, pk=None):
        """One order, with the prescription's signature checked now."""
        order = self.get_object()
        context = {**self.get_serializer_context(), "signature_check": _signature_check(order)}
        return Response(PharmacyOrderDetailSerializer(order, context=context).data)

    def _render(self, order) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=order.pk)).data)

    def _step(self, verb, serializer_class=EmptySerializer, **extra) -> Response:
        order = self.get_object()
        data = _parsed(serializer_class, self.request)
        return self._render(verb(order=order, pharmacy=self.request.pharmacy, by=self.request.user, **data, **extra))

    @extend_schema(responses=SignatureCheckSerializer)
    @action(detail=True, methods=["get"])
    def verify(self, request, pk=None):
        """Check the prescription's Ed25519 signature over its content as stored now."""
        return Response(SignatureCheckSerializer(_signature_check(self.get_object())).data)

    @extend_schema(request=EmptySerializer, responses=PharmacyOrderSerializer, examples=examples.PHARMACY_ACCEPT)
    @action(detail=True, methods=["post"])
    @refuses("forbidden", "invalid_transition", "wrong_order_kind", "signature_invalid", "prescription_expired",
             "prescription_not_orderable")
    def accept(self, request, pk=None):
        return self._step(orders.order_accept)

    @extend_schema(request=RejectSerializer, responses=PharmacyOrderSerializer)
    @action(detail=True, methods=["post"])
    @refuses("forbidden", "invalid_transition", "wrong_order_kind", "reason_required", "reason_too_long")
    def reject(self, request, pk=None):
        return self._step(orders.order_reject, RejectSerializer)

    @extend_schema(request=EmptySerializer, responses=PharmacyOrderSerializer)
    @action(detail=True, methods=["post"])
    @refuses("forbidden", "invalid_transition", "wrong_order_kind")
    def preparing(self, request, pk=None):
        return self._step(orders.order_prepare)

    @extend_schema(request=EmptySerializer, responses=PharmacyOrderSerializer)
    @action(detail=True, methods=["post"], url_path="ready")
    @refuses("forbidden", "invalid_transition", "wrong_order_kind")
    def ready_for_pickup(self, request, pk=None):
        return self._step(orders.order_ready)

    @extend_schema(request=PickUpSerializer, responses=PharmacyOrderSerializer)
    @action(detail=True, methods=["post"], url_path="picked-up")
    @refuses("forbidden", "invalid_transition", "wrong_order_kind", "wrong_pickup_code", "pickup_locked",
             "pickup_code_required", "consume_exceeds_reserved")
    def picked_up(self, request, pk=None):
        return self._step(orders.order_pick_up, PickUpSerializer)

    @extend_schema(request=DispatchSerializer, responses=PharmacyOrderSerializer)
    @action(detail=True, methods=["post"], url_path="out-for-delivery")
    @refuses("forbidden", "invalid_transition", "wrong_order_kind", "courier_required", "courier_too_long",
             "tracking_number_too_long", "consume_exceeds_reserved")
    def out_for_delivery(self, request, pk=None):
        return self._step(orders.order_dispatch, DispatchSerializer)

    @extend_schema(request=DeliverSerializer, responses=PharmacyOrderSerializer)
    @action(detail=True, methods=["post"])
    @refuses("forbidden", "invalid_transition", "wrong_order_kind", "received_at_early", "received_at_future",
             "received_by_too_long")
    def delivered(self, request, pk=None):
        return self._step(orders.order_deliver, DeliverSerializer)


def _signature_check(order: Order) -> dict:
    prescription = order.prescription
    valid, reason = rx_lifecycle.prescription_verify(prescription)
    try:
        rx_lifecycle.prescription_check_dispensable(prescription)
        dispensable = valid
    except DomainError as refusal:
        dispensable, reason = False, f"{reason} {refusal.message}".strip()
    return {"valid": valid, "reason": reason, "prescription_status": prescription.status, "dispensable": dispensable,
            "algorithm": SigningKey.ALGORITHM, "key_id": prescription.key_id, "content_hash": prescription.content_hash,
            "signature": prescription.signature, "signed_content": prescription.signed_content}


class PharmacySigningKeyViewSet(PharmacySideMixin, viewsets.ReadOnlyModelViewSet):
    """The doctors' public keys (current, retired, revoked), for a pharmacy system checking a
    prescription's signature offline with its API token. No patient data."""

    serializer_class = SigningKeySerializer
    queryset = SigningKey.objects.select_related("doctor").order_by("-created_at", "-id")
    lookup_field = "key_id"
    lookup_value_regex = "[A-Za-z0-9_.-]+"
    filterset_fields = ["doctor"]
    ordering_fields = ["created_at"]
    search_fields: list = []
