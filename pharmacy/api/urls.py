from django.urls import path
from rest_framework.routers import SimpleRouter

from pharmacy.api import order_views, views

router = SimpleRouter(trailing_slash=True)
router.register("orders", order_views.OrderViewSet, basename="order")
router.register("pharmacy/orders", order_views.PharmacyOrderViewSet, basename="pharmacy-order")
router.register("pharmacy/signing-keys", order_views.PharmacySigningKeyViewSet, basename="pharmacy-signing-key")

urlpatterns = [
    path("pharmacy/me/", views.MyPharmacyView.as_view(), name="pharmacy-me"),
    path("pharmacy/stock/", views.StockView.as_view(), name="pharmacy-stock"),
    path("pharmacies/", views.PharmacyDirectoryView.as_view(), name="pharmacy-directory"),
    # Before the prescriptions router in cloudhospital.urls, so this path is ours.
    path("prescriptions/<int:pk>/pharmacies/", order_views.PrescriptionPharmaciesView.as_view(),
         name="prescription-pharmacies"),
    *router.urls,
]
