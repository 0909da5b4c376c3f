"""Auth endpoints: login and logout. Thin: parse, call the domain, render.

Registering a patient and "who am I" know about patients, so they live with them in
consult.api.accounts."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cloudhospital.accounts import user_login, user_logout
from cloudhospital.api.serializers import LoginSerializer, TokenSerializer


class LoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=LoginSerializer, responses={200: TokenSerializer}, summary="Log in with phone and password")
    def post(self, request):
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # axes reads and marks the plain HttpRequest, not DRF's wrapper.
        token = user_login(request=request._request, **data.validated_data)
        return Response({"token": token.key})


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, summary="Revoke the API token")
    def post(self, request):
        user_logout(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
