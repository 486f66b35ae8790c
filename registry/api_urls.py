from django.urls import path

from registry.api import check, exclusions, log

app_name = "api"

urlpatterns = [
    path("check", check.CheckView.as_view(), name="check"),
    path("exclusions/export", exclusions.ExportView.as_view(), name="exclusions-export"),
    path("exclusions/changes", exclusions.ChangesView.as_view(), name="exclusions-changes"),
    path("log/checkpoint", log.CheckpointView.as_view(), name="log-checkpoint"),
    path("log/key", log.KeyView.as_view(), name="log-key"),
    path("log/entries", log.EntriesView.as_view(), name="log-entries"),
    path("log/proof/inclusion", log.InclusionProofView.as_view(), name="log-proof-inclusion"),
    path("log/proof/consistency", log.ConsistencyProofView.as_view(), name="log-proof-consistency"),
]
