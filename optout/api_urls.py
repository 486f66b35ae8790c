"""Owner API, mounted at /api/v1/requests/ by governance/urls.py."""

from django.urls import path

from optout import api

app_name = "optout-api"

urlpatterns = [
    path("", api.RequestCreateView.as_view(), name="create"),
    path("<uuid:public_id>/", api.RequestDetailView.as_view(), name="detail"),
    path("<uuid:public_id>/verify/", api.RequestVerifyView.as_view(), name="verify"),
    path("<uuid:public_id>/withdraw/", api.RequestWithdrawView.as_view(), name="withdraw"),
]
