"""Auth endpoints: login, logout (this device or all), and the caller's own devices.
Thin: parse, call the domain, render.

Registering a patient and "who am I" know about patients, so they live with them in
consult.api.accounts."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cloudhospital import tokens
from cloudhospital.api import examples
from cloudhospital.api.refusals import refuses
from cloudhospital.accounts import user_login
from cloudhospital.api.serializers import DeviceTokenSerializer, LoginSerializer, TokenSerializer, issued_token_body


class LoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=LoginSerializer, responses={200: TokenSerializer}, examples=examples.LOGIN,
        summary="Log in with phone and password: a new token for this device",
    )
    @refuses("bad_credentials", "invalid_phone")
    def post(self, request):
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # axes reads and marks the plain HttpRequest, not DRF's wrapper.
        issued = user_login(request=request._request, **data.validated_data)
        return Response(issued_token_body(issued))


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, summary="Log this device out: revoke the token sent")
    def post(self, request):
        if request.auth is not None:
            tokens.token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, summary="Log out everywhere: revoke all of the caller's tokens")
    def post(self, request):
        tokens.tokens_revoke_all(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceTokenListView(generics.ListAPIView):
    """The caller's own live tokens (devices), newest first; never the secret itself."""

    permission_classes = [IsAuthenticated]
    serializer_class = DeviceTokenSerializer
    filter_backends: list = []

    @extend_schema(summary="The caller's logged-in devices (one token each)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return tokens.tokens_active(user=self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "current": getattr(self.request.auth, "digest", None)}


class DeviceTokenView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, summary="Log one of the caller's devices out (another's id: 404)")
    def delete(self, request, token_key: str):
        if not tokens.token_revoke_by_key(user=request.user, token_key=token_key):
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)
