from django.urls import path

from optout import views

app_name = "optout"

urlpatterns = [
    path("new/", views.submit, name="submit"),
    path("<uuid:public_id>/", views.status, name="status"),
]
