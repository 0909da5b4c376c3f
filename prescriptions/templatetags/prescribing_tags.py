"""Template filters for the prescribing pages."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def plain(value) -> str:
    """A decimal as a person writes it: 5.00 -> 5, 47.50 -> 47.5, 0.250 -> 0.25."""
    try:
        return format(Decimal(value).normalize(), "f")
    except (InvalidOperation, TypeError, ValueError):
        return "" if value is None else str(value)
