"""`allowed_actions`: what the caller may do with an object now, as the API's own verbs.

The list comes from the domain module's checks (the same checks its verbs run before they
act: the state machine, the access policy, the time windows), asked for the request's user.
A whole page is rendered inside one `policy_memo` scope, so the policy's actor-only answers
(which patients this user manages, whether they are a review pharmacist …) are read once
per response, not once per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cloudhospital.permissions import policy_memo

HELP = ("The actions (POST …/{id}/<action>/) the caller may take on this object now, from its state, "
        "the access policy and the clock. A listed action can still be refused for what its request "
        "carries (a reason, a new slot, a pickup code).")


def allowed_actions_field(actions: Sequence[str], compute: Callable[..., list[str]]) -> serializers.Field:
    """A read-only field: `compute(obj, actor=<the request's user>)`, documented as a list of
    an enum of `actions` (name the enum in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"])."""
    choices = list(actions)

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=choices), help_text=HELP))
    class AllowedActionsField(serializers.Field):
        def __init__(self, **kwargs):
            kwargs.update(source="*", read_only=True)
            super().__init__(**kwargs)

        def to_representation(self, obj) -> list[str]:
            request = self.context.get("request")
            actor = getattr(request, "user", None)
            if actor is None:
                return []
            # One memo per response: the serializer's context is shared by every row of a page.
            store = self.context.setdefault("_policy_memo", {})
            with policy_memo(store):
                return [name for name in compute(obj, actor=actor) if name in choices]

    return AllowedActionsField()
