"""WebSocket routes of every app, gathered in one list for the ASGI router."""

from consult.routing import websocket_urlpatterns as consult_routes

websocket_urlpatterns = [*consult_routes]
