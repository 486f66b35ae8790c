from django.urls import path

from optout import views

app_name = "optout"

urlpatterns = [
    path("new/", views.submit, name="submit"),
    path("mine/", views.mine, name="mine"),
    path("links/", views.links, name="links"),
    path("<uuid:public_id>/", views.status, name="status"),
    path("<uuid:public_id>/verify/", views.verify, name="verify"),
    path("<uuid:public_id>/withdraw/", views.withdraw, name="withdraw"),
]
