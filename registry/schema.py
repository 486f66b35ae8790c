"""OpenAPI description of the pipeline token scheme (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyChallengeScheme(OpenApiAuthenticationExtension):
    target_class = "registry.tokens.ApiKeyChallenge"
    name = "pipelineToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <token>`; maintainers create tokens (shown once).",
        }
