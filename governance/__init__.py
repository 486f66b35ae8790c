"""The project package and the dataset-release domain."""

from governance.celery import app as celery_app

__all__ = ["celery_app"]
