"""Owner API, mounted at /api/v1/requests/ by governance/urls.py."""

from django.urls import path

from optout import api

app_name = "optout-api"

# <str:…>, not <uuid:…>: a malformed id must get the API's JSON 404, not Django's HTML one.

urlpatterns = [
    path("", api.RequestCreateView.as_view(), name="create"),
    path("<str:public_id>/", api.RequestDetailView.as_view(), name="detail"),
    path("<str:public_id>/verify/", api.RequestVerifyView.as_view(), name="verify"),
    path("<str:public_id>/withdraw/", api.RequestWithdrawView.as_view(), name="withdraw"),
]
