"""Forge sign-in as a verification method.

The owner signs in with GitHub or GitLab through django-allauth (OAuth2 with state and
PKCE). This method then asks the forge's API, with the owner's token and through the
SSRF-safe fetcher, whether the signed-in account is the namespace itself, an owner of
the organisation or group, or an admin (GitLab: maintainer or owner) of the repository.
It records the forge's numeric ids of the account and, for repositories, of the
repository.

A token is only ever sent to the forge its provider is configured for: a provider is
bound to the one forge whose web URL equals the provider's configured URL. It serves one
check: once the run that used it has recorded its evidence, ``signin_tokens_discard``
deletes the portal's copy (the next check needs a new sign-in) and, after commit, asks the
forge to revoke the token itself, so a copy that leaked (a backup, a log) stops working.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialToken
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from optout.enums import VerificationMethod
from optout.outbound import OutboundError, OutboundRefused, fetch, forge_api_url, forge_url
from optout.proofs import Proof
from registry.enums import ExclusionKind
from registry.forges import Forge, forges
from registry.identifiers import Identifier

logger = logging.getLogger(__name__)

_GITLAB_OWNER = 50
_GITLAB_MAINTAINER = 40
_PROVIDER_DEFAULT_URLS = {"github": "https://github.com", "gitlab": "https://gitlab.com"}


def provider_base_url(provider: str) -> str:
    config = settings.SOCIALACCOUNT_PROVIDERS.get(provider, {})
    url = config.get("GITHUB_URL" if provider == "github" else "GITLAB_URL")
    return (url or _PROVIDER_DEFAULT_URLS.get(provider, "")).rstrip("/")


def forge_for_provider(provider: str) -> Forge | None:
    base = provider_base_url(provider)
    for forge in forges().values():
        if forge.signin_provider == provider and forge.web_base_url.rstrip("/") == base:
            return forge
    return None


def configured_providers() -> list[str]:
    """Providers with an OAuth app configured (the sign-in buttons to show)."""
    return [
        provider
        for provider, config in settings.SOCIALACCOUNT_PROVIDERS.items()
        if config.get("APPS") and forge_for_provider(provider) is not None
    ]


class _ApiError(Exception):
    pass


class ForgeSigninMethod:
    method = VerificationMethod.FORGE_SIGNIN

    def __init__(self, user: AbstractBaseUser) -> None:
        self.user = user
        self.used_token_ids: set[int] = set()  # deleted when the run is recorded
        self._tokens: dict[str, SocialToken | None] = {}

    def _token(self, provider: str) -> SocialToken | None:
        # applies_to and check ask for every subject of the run: one query per provider.
        if provider not in self._tokens:
            self._tokens[provider] = (
                SocialToken.objects.filter(account__user=self.user, account__provider=provider)
                .select_related("account")
                .order_by("-id")
                .first()
            )
        return self._tokens[provider]

    def applies_to(self, identifier: Identifier) -> bool:
        forge = forges()[identifier.host]
        provider = forge.signin_provider
        return (
            bool(provider)
            and forge_for_provider(provider) is forge
            and self._token(provider) is not None
        )

    def check(self, *, identifier: Identifier, token: str, memo: dict) -> Proof:
        forge = forges()[identifier.host]
        social = self._token(forge.signin_provider)
        if social is None:
            return Proof(False, f"Sign in with {forge.label} first.")
        self.used_token_ids.add(social.id)
        fetches: list[dict[str, object]] = []
        try:
            if forge.api_flavour == "gitlab":
                proof = self._check_gitlab(forge, identifier, social.token, fetches)
            elif forge.api_flavour == "github":
                proof = self._check_github(forge, identifier, social.token, fetches)
            else:
                return Proof(False, f"Sign-in is not supported for {forge.label}.")
        except (_ApiError, OutboundError, OutboundRefused) as exc:
            return Proof(False, f"{forge.label} could not confirm your access: {exc}", {})
        proof.evidence["fetches"] = fetches
        proof.evidence["forge_account_uid"] = social.account.uid
        return proof

    def _get(self, forge: Forge, token: str, fetches: list, *segments: str | int) -> Any:
        result = fetch(
            forge_api_url(forge, *segments),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            follow_redirects=False,
            max_bytes=1024 * 1024,
        )
        fetches.append(result.evidence())
        if result.status == 404:
            return None
        if result.status in {301, 302, 307, 308}:
            raise _ApiError("the name has moved (renamed or transferred); request the current name")
        if result.status != 200:
            raise _ApiError(f"its API answered {result.status}")
        try:
            return json.loads(result.body)
        except ValueError:
            raise _ApiError("its API did not answer in JSON") from None

    def _check_github(
        self, forge: Forge, identifier: Identifier, token: str, fetches: list
    ) -> Proof:
        me = self._get(forge, token, fetches, "user") or {}
        login, account_id = str(me.get("login", "")), me.get("id")
        evidence: dict[str, object] = {"forge_account_id": account_id, "forge_login": login}
        owner = identifier.owner
        if identifier.kind == ExclusionKind.REPOSITORY:
            repository = self._get(forge, token, fetches, "repos", owner, identifier.name or "")
            if not repository:
                return Proof(False, f"{identifier.canonical} is not visible to {login}.", evidence)
            evidence["forge_repository_id"] = repository.get("id")
            if (repository.get("permissions") or {}).get("admin") is True:
                return Proof(True, f"{login} is an admin of {identifier.canonical}.", evidence)
            return Proof(False, f"{login} is not an admin of {identifier.canonical}.", evidence)
        if login.lower() == owner.lower():
            return Proof(True, f"Signed in as {login}, the namespace itself.", evidence)
        membership = self._get(forge, token, fetches, "user", "memberships", "orgs", owner)
        if membership and membership.get("state") == "active" and membership.get("role") == "admin":
            return Proof(True, f"{login} is an owner of the organisation {owner}.", evidence)
        return Proof(False, f"{login} is neither {owner} nor an owner of it.", evidence)

    def _check_gitlab(
        self, forge: Forge, identifier: Identifier, token: str, fetches: list
    ) -> Proof:
        me = self._get(forge, token, fetches, "user") or {}
        username, account_id = str(me.get("username", "")), me.get("id")
        evidence: dict[str, object] = {"forge_account_id": account_id, "forge_login": username}
        if identifier.kind == ExclusionKind.REPOSITORY:
            project = self._get(forge, token, fetches, "projects", identifier.path)
            if not project:
                return Proof(
                    False, f"{identifier.canonical} is not visible to {username}.", evidence
                )
            evidence["forge_repository_id"] = project.get("id")
            permissions = project.get("permissions") or {}
            level = max(
                (permissions.get(k) or {}).get("access_level", 0)
                for k in ("project_access", "group_access")
            )
            if level >= _GITLAB_MAINTAINER:
                return Proof(True, f"{username} can administer {identifier.canonical}.", evidence)
            return Proof(
                False, f"{username} is not a maintainer of {identifier.canonical}.", evidence
            )
        path = identifier.path
        if path.lower() == username.lower():
            return Proof(True, f"Signed in as {username}, the namespace itself.", evidence)
        group = self._get(forge, token, fetches, "groups", path)
        if not group:
            return Proof(False, f"{identifier.canonical} is not visible to {username}.", evidence)
        evidence["forge_group_id"] = group.get("id")
        member = self._get(
            forge, token, fetches, "groups", group["id"], "members", "all", account_id
        )
        if member and member.get("access_level", 0) >= _GITLAB_OWNER:
            return Proof(True, f"{username} is an owner of the group {path}.", evidence)
        return Proof(False, f"{username} is not an owner of the group {path}.", evidence)


def signin_tokens_discard(*, token_ids: set[int]) -> int:
    """Delete stored OAuth tokens the portal has used (allauth keeps them in clear).

    Called in the transaction that records the run's evidence: the permission check was
    the only use for them, and a token we no longer hold cannot leak.
    """
    if not token_ids:
        return 0
    return _discard(SocialToken.objects.filter(id__in=token_ids))


SIGNIN_TOKEN_MAX_AGE = timedelta(hours=1)


def signin_tokens_expire(*, now: datetime | None = None) -> int:
    """Delete tokens of sign-ins older than ``SIGNIN_TOKEN_MAX_AGE`` that no check used.

    allauth keeps no date on a token; the account's ``last_login`` is saved at every
    sign-in, when the token is stored, so it bounds the token's age.
    """
    cutoff = (now or timezone.now()) - SIGNIN_TOKEN_MAX_AGE
    return _discard(SocialToken.objects.filter(account__last_login__lt=cutoff))


def _discard(tokens: QuerySet[SocialToken]) -> int:
    """Delete ``tokens``, then (after commit: network is a side effect) revoke each one."""
    revoke = list(tokens.values_list("account__provider", "token"))
    deleted, _ = tokens.delete()
    if revoke:
        transaction.on_commit(lambda: [signin_token_revoke(p, t) for p, t in revoke])
    return deleted


def signin_token_revoke(provider: str, token: str) -> bool:
    """Ask the forge to revoke ``token`` (GitHub: the app's token API; GitLab: OAuth
    revocation, RFC 7009). A failure is logged, not raised: our copy is gone either way."""
    forge = forge_for_provider(provider)
    apps = settings.SOCIALACCOUNT_PROVIDERS.get(provider, {}).get("APPS") or []
    if forge is None or not apps:
        return False
    client_id, secret = apps[0]["client_id"], apps[0]["secret"]
    if provider == "github":
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        url = forge_api_url(forge, "applications", client_id, "token")
        method, expected = "DELETE", 204
        headers = {"Authorization": f"Basic {basic}", "Content-Type": "application/json"}
        body = json.dumps({"access_token": token}).encode()
    else:
        url = forge_url(forge, "oauth/revoke")
        method, expected = "POST", 200
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        body = urlencode({"token": token, "client_id": client_id, "client_secret": secret}).encode()
    try:
        result = fetch(url, method=method, headers=headers, body=body, follow_redirects=False)
    except (OutboundError, OutboundRefused) as exc:
        logger.warning("Could not revoke a %s sign-in token: %s", provider, exc)
        return False
    if result.status != expected:
        logger.warning("%s answered %s to revoking a sign-in token", provider, result.status)
        return False
    return True


class LocalAccountAdapter(DefaultAccountAdapter):
    """No local sign-up: /accounts/signup/ says so and creates nobody. People prove
    control by forge sign-in, and maintainers' accounts are made by a superuser."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False


class ForgeSigninAccountAdapter(DefaultSocialAccountAdapter):
    """Forge sign-in still creates an account on first use (allauth asks the account
    adapter by default, which is closed)."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: object) -> bool:
        return True
