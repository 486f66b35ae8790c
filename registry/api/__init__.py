"""The pipeline API under ``/api/v1/``: one module per group of endpoints.

Every view declares its own input and output serializers; errors take the project's
single shape through the exception handler configured in settings.
"""
