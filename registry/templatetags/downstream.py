"""``{% downstream_applied subjects %}``: on an owner's status page, how many registered
downstream users applied a checkpoint that excludes these subjects (docs/mirroring.md)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from registry.models import DownstreamUser, Exclusion
from registry.receipts import downstream_applied_count

register = template.Library()


@register.inclusion_tag("registry/_downstream_applied.html")
def downstream_applied(subjects: Iterable[object]) -> dict[str, object]:
    """``subjects``: objects with ``kind`` and ``subject`` (a request's subjects). Counted
    from the newest of their active exclusions: a checkpoint that holds it holds them all."""
    pairs = [(s.kind, s.subject) for s in subjects]  # type: ignore[attr-defined]
    indexes = [
        index
        for kind, subject in pairs
        for index in Exclusion.objects.filter(kind=kind, subject=subject, active=True).values_list(
            "added_at_index", flat=True
        )
    ]
    if len(indexes) < len(pairs) or not DownstreamUser.objects.exists():
        return {"shown": False}
    applied, total = downstream_applied_count(max(indexes) + 1)
    return {"shown": True, "applied": applied, "total": total}
