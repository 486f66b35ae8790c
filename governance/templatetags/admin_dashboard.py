"""``{% admin_dashboard as board %}``: the admin index's dashboard (governance.admin_dashboard)."""

from __future__ import annotations

from django import template

from governance.admin_dashboard import dashboard

register = template.Library()


@register.simple_tag(takes_context=True)
def admin_dashboard(context: template.Context) -> dict[str, object]:
    return dashboard(context["request"].user)
