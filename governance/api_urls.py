"""Dataset routes of the pipeline API, mounted under /api/v1/."""

from django.urls import path

from governance import api

app_name = "datasets-api"

urlpatterns = [
    path("datasets/", api.DatasetListView.as_view(), name="datasets"),
    path("datasets/<slug:name>/versions/", api.DatasetVersionListView.as_view(), name="versions"),
    path("datasets/<slug:name>/lookup", api.LookupView.as_view(), name="lookup"),
    path(
        "datasets/<slug:name>/versions/<str:version>/changelog/",
        api.ChangelogView.as_view(),
        name="changelog",
    ),
    path("transparency", api.TransparencyView.as_view(), name="transparency"),
    path(
        "datasets/<slug:name>/versions/<str:version>/verify/",
        api.VersionVerifyView.as_view(),
        name="verify",
    ),
]
