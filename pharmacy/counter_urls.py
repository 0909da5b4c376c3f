"""The pharmacy counter console (pharmacy.counter_pages): orders and stock for the staff of a
pharmacy without till software of its own."""

from django.urls import path

from pharmacy import counter_pages

urlpatterns = [
    path("counter/", counter_pages.counter_orders, name="counter-orders"),
    path("counter/orders/<int:order_id>/", counter_pages.counter_order, name="counter-order"),
    path("counter/orders/<int:order_id>/<slug:action>/", counter_pages.counter_order_step, name="counter-order-step"),
    path("counter/stock/", counter_pages.counter_stock, name="counter-stock"),
]
