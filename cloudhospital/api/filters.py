"""Filter building blocks shared by every app."""

import django_filters
from django import forms

# Ids are 64-bit; a longer number must be a 400, not an overflow inside the database driver.
MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """Filter by a related object's id: a whole number from 1 to 2**63 - 1, else a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)
