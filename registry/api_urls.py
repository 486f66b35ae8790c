from django.urls import path

from registry import api

app_name = "api"

urlpatterns = [
    path("check", api.CheckView.as_view(), name="check"),
]
