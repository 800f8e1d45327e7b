"""Model permissions without queries of their own: read with the signed-in user, in the same
query (every page needs both), or in one query when a user is checked some other way."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import router
from django.db.models import CharField, Q, QuerySet, StringAgg, Value
from django.db.models.functions import Concat

from requests_app import compiled


def _names(relation: str) -> StringAgg:
    """'app_label.codename' of every permission reached through relation, space-separated."""
    name = Concat(
        f"{relation}__content_type__app_label",
        Value("."),
        f"{relation}__codename",
        output_field=CharField(),
    )
    has_one = Q(**{f"{relation}__isnull": False})
    return StringAgg(name, delimiter=Value(" "), filter=has_one, default=Value(""))


def _user_with_permission_names(pk: Any) -> QuerySet:
    return (
        get_user_model()
        ._default_manager.annotate(
            group_perm_names=_names("groups__permissions"),
            own_perm_names=_names("user_permissions"),
        )
        .filter(pk=pk)
    )


class OneQueryModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        """The user of a session and, in the same query, their group and own permissions."""
        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        # Compiled once: building this nine-table query took several times as long as running it.
        user = compiled.first(_user_with_permission_names, pk, using=router.db_for_read(model))
        if user is None or not self.user_can_authenticate(user):
            return None
        if not user.is_superuser:
            user._perm_cache = set(f"{user.group_perm_names} {user.own_perm_names}".split())
        return user

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            rows = (
                Permission.objects.filter(Q(user=user_obj) | Q(group__user=user_obj))
                .values_list("content_type__app_label", "codename")
                .distinct()
            )
            user_obj._perm_cache = {f"{app}.{name}" for app, name in rows}
        return user_obj._perm_cache
