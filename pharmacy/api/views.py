"""Pharmacy-side endpoints (pharmacy token or pharmacy staff login) and the public directory.

Everything pharmacy-side starts from `pharmacy_for(user, auth)`: the one pharmacy the
caller acts for. Its stock queryset is filtered by that pharmacy, so another pharmacy's
rows are never reachable.
"""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from cloudhospital.api.authentication import ExpiringTokenAuthentication
from cloudhospital.api.pagination import query_without_paging
from cloudhospital.api.refusals import refuses
from cloudhospital.api.parsers import SafeJSONParser
from pharmacy import dispatch
from pharmacy.access import pharmacy_for
from pharmacy.api.serializers import (
    CandidateSerializer,
    NearQuerySerializer,
    PharmacyProfileSerializer,
    StockSerializer,
    StockUploadResultSerializer,
    StockUploadSerializer,
)
from pharmacy.authentication import PharmacyTokenAuthentication
from pharmacy.models import Pharmacy, PharmacyApiToken, Stock
from pharmacy.stock import stock_upsert_bulk


class ActsForPharmacy(permissions.BasePermission):
    """Allows a pharmacy API token, or a pharmacist / pharmacy staff member of an active
    pharmacy; sets `request.pharmacy`."""

    message = gettext_lazy("Only a pharmacy (API token or pharmacy staff login) may use this endpoint.")

    def has_permission(self, request, view):
        pharmacy = pharmacy_for(user=request.user, auth=request.auth)
        if pharmacy is None:
            return False
        request.pharmacy = pharmacy
        return True


class PharmacySideMixin:
    authentication_classes = [PharmacyTokenAuthentication, ExpiringTokenAuthentication, SessionAuthentication]
    permission_classes = [ActsForPharmacy]

    def perform_authentication(self, request):
        super().perform_authentication(request)
        if isinstance(request.auth, PharmacyApiToken):
            # DRF copies request.user onto the HTTP request, where simple-history's middleware
            # reads it for history rows; a token is not a User row, so keep that one anonymous.
            request._request.user = AnonymousUser()


class MyPharmacyView(PharmacySideMixin, APIView):
    @extend_schema(responses={200: PharmacyProfileSerializer}, summary="The caller's own pharmacy")
    def get(self, request):
        pharmacy = Pharmacy.objects.prefetch_related("opening_hours").get(pk=request.pharmacy.pk)
        return Response(PharmacyProfileSerializer(pharmacy).data)


class StockView(PharmacySideMixin, generics.ListAPIView):
    """GET: the caller's own stock, paginated (?drug_code= filters). PUT: bulk upsert.

    PUT body: a list `[{"drug_code": "AML5", "quantity": 120}, ...]` or a mapping
    `{"AML5": 120, ...}` setting the quantity on hand. The answer reports each line:
    applied, unknown_drug_code, below_reserved (orders hold more than that) or duplicate.
    Valid lines are applied even when others are refused.
    """

    serializer_class = StockSerializer
    # The upload is a JSON list or mapping; form encodings cannot carry either shape.
    parser_classes = [SafeJSONParser]
    search_fields = ["drug__code", "drug__generic_name", "drug__generic_name_zh"]
    ordering_fields = ["drug__code", "on_hand", "updated_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Stock.objects.none()
        queryset = Stock.objects.filter(pharmacy=self.request.pharmacy).select_related("drug").order_by("drug__code")
        code = self.request.query_params.get("drug_code")
        return queryset.filter(drug__code=code) if code else queryset

    @extend_schema(request=StockUploadSerializer, responses={200: StockUploadResultSerializer}, summary="Upsert stock in bulk")
    @refuses("forbidden", "no_lines", "too_many_lines", "invalid_drug_code", "invalid_quantity")
    def put(self, request):
        upload = StockUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        results = stock_upsert_bulk(
            pharmacy=request.pharmacy,
            lines=[(line["drug_code"], line["quantity"]) for line in upload.validated_data],
            by=request.user,
        )
        applied = sum(1 for result in results if result.ok)
        body = {"applied": applied, "refused": len(results) - applied, "lines": results}
        return Response(StockUploadResultSerializer(body).data)


class PharmacyDirectoryView(generics.GenericAPIView):
    """Nearest active pharmacies to a point, with distance and opening; no stock figures:
    the `limit` nearest, paginated like every list."""

    serializer_class = CandidateSerializer
    queryset = Pharmacy.objects.none()  # the candidates are computed, not filtered (pharmacy.dispatch)
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("lat", OpenApiTypes.FLOAT, required=True),
            OpenApiParameter("lng", OpenApiTypes.FLOAT, required=True),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1-100, default 20"),
        ],
        responses={200: CandidateSerializer(many=True)},
        summary="Pharmacies near a point",
    )
    @refuses("invalid_coordinates", "invalid_limit")
    def get(self, request):
        query = NearQuerySerializer(data=query_without_paging(request))
        query.is_valid(raise_exception=True)
        candidates = dispatch.pharmacies_near(**query.validated_data)
        page = self.paginate_queryset(candidates)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
