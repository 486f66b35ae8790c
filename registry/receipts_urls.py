"""``/api/v1/receipts/``: downstream receipts (``registry.receipts_views``)."""

from django.urls import path

from registry.receipts_views import (
    ReceiptsCheckpointView,
    ReceiptsConsistencyView,
    ReceiptsInclusionView,
    ReceiptsView,
)

urlpatterns = [
    path("", ReceiptsView.as_view(), name="receipts"),
    path("checkpoint", ReceiptsCheckpointView.as_view(), name="receipts-checkpoint"),
    path("proof/inclusion", ReceiptsInclusionView.as_view(), name="receipts-inclusion"),
    path("proof/consistency", ReceiptsConsistencyView.as_view(), name="receipts-consistency"),
]
