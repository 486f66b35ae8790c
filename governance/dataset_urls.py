"""Public pages of datasets and their versions, mounted under /datasets/."""

from django.urls import path

from governance import views

app_name = "datasets"

urlpatterns = [
    path("", views.dataset_list, name="list"),
    path("<slug:name>/", views.dataset_detail, name="dataset"),
    path("<slug:name>/<str:version>/", views.version_detail, name="version"),
    path("<slug:name>/<str:version>/files/<path:path>", views.version_file, name="file"),
]
