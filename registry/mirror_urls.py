"""``/mirror/``: the registry's public files (``registry.mirror_views``)."""

from django.urls import path

from registry.mirror_views import mirror_file

urlpatterns = [path("<path:path>", mirror_file, name="mirror-file")]
