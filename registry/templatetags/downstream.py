"""``{% downstream_applied subjects applied_in excluding %}``: on an owner's status page,
which of our versions applied the request and how many registered downstream users applied
a checkpoint that excludes its subjects (docs/mirroring.md)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from registry.models import DownstreamUser, Exclusion
from registry.receipts import downstream_applied_count

register = template.Library()


@register.inclusion_tag("registry/_downstream_applied.html")
def downstream_applied(
    subjects: Iterable[object], applied_in: list[str], excluding: bool
) -> dict[str, object]:
    """The line "Applied by our dataset (version X) and by N of M registered downstream
    users", each half shown only when true: ``applied_in``, the published versions that
    applied the request (labels, from the app that knows them); ``excluding``, whether the
    request excludes its subjects now (approved or applied). ``subjects``: objects with
    ``kind`` and ``subject``. The downstream count reads the newest of their active
    exclusions: a checkpoint that holds it holds them all."""
    if not excluding:
        return {"shown": False}
    pairs = [(s.kind, s.subject) for s in subjects]  # type: ignore[attr-defined]
    indexes = [
        index
        for kind, subject in pairs
        for index in Exclusion.objects.filter(kind=kind, subject=subject, active=True).values_list(
            "added_at_index", flat=True
        )
    ]
    context: dict[str, object] = {"applied_in": applied_in, "downstream": False}
    if len(indexes) == len(pairs) and DownstreamUser.objects.exists():
        applied, total = downstream_applied_count(max(indexes) + 1)
        context.update(downstream=True, applied=applied, total=total)
    context["shown"] = bool(applied_in) or context["downstream"]
    return context
