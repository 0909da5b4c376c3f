"""The review pharmacist's workbench (prescriptions.review_pages)."""

from django.urls import path

from prescriptions import review_pages

urlpatterns = [
    path("review/", review_pages.queue, name="review-queue"),
    path("review/<int:prescription_id>/", review_pages.detail, name="review-detail"),
    path("review/<int:prescription_id>/approve/", review_pages.approve, name="review-approve"),
    path("review/<int:prescription_id>/reject/", review_pages.reject, name="review-reject"),
]
