"""A flat read path for the partner API's long lists (issue 9).

A list view that sets ``flat = FlatList(SomeOut, name=expression, ...)`` answers GET from one ``.values()``
query of exactly the serializer's fields, each value passed through that field's own ``to_representation``
(or left as it is where that is the identity: text, choices, integers, booleans, primary keys). No model
instance, related object or prefetch is built, and no serializer runs per row. The page body is what the
serializer would have produced, field for field: tests/test_flat_lists.py holds every flat list equal to its
serializer on the same rows.

A serializer field is read as follows:

- a model field of the serializer's model (a foreign key gives its id, as a primary-key related field does);
- a dotted source (``stage.name``) through the join ``stage__name``;
- anything else (a method field, say) only from an expression given to ``FlatList`` under the field's name,
  whose value is served as it is.

Anything this cannot read is refused when the class is built, not on a request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import F, QuerySet
from rest_framework import fields as drf_fields
from rest_framework import relations, serializers

# Fields whose to_representation returns a value read from the database unchanged.
_IDENTITY = (
    drf_fields.CharField,
    drf_fields.ChoiceField,
    drf_fields.IntegerField,
    drf_fields.BooleanField,
    drf_fields.EmailField,
    relations.PrimaryKeyRelatedField,
)
_PREFIX = "_flat_"


class FlatList:
    def __init__(self, serializer_class: type[serializers.Serializer], **expressions: Any) -> None:
        self.serializer_class = serializer_class
        self.expressions = expressions
        self._plan: list[tuple[str, str, Callable[[Any], Any] | None]] | None = None
        self._values: tuple[list[str], dict[str, Any]] | None = None

    def _build(self) -> None:
        """Worked out on first use (serializer fields need the app registry), then kept."""
        serializer = self.serializer_class()
        model = serializer.Meta.model
        concrete = {f.name: f for f in model._meta.concrete_fields}
        plain: list[str] = []
        named: dict[str, Any] = {}
        plan = []
        for name, field in serializer.fields.items():
            if field.write_only:
                continue
            convert = None if isinstance(field, _IDENTITY) else field.to_representation
            if name in self.expressions:
                key = _PREFIX + name
                named[key] = self.expressions[name]
                convert = None  # the expression gives the value as served
            elif field.source in concrete:
                key = field.source
                plain.append(key)
            elif "." in field.source and not isinstance(field, serializers.SerializerMethodField):
                key = _PREFIX + name
                named[key] = F(field.source.replace(".", "__"))
            else:
                raise TypeError(
                    f"{self.serializer_class.__name__}.{name} has no column to read: give FlatList an "
                    f"expression for it."
                )
            plan.append((name, key, convert))
        self._plan = plan
        self._values = (plain, named)

    def queryset(self, queryset: QuerySet, also: Iterable[str] = ()) -> QuerySet:
        """The rows of ``queryset`` as dictionaries of the needed columns (its filters and order kept), plus
        the columns named in ``also`` (the cursor reads its position from the row)."""
        if self._values is None:
            self._build()
        plain, named = self._values
        plain = plain + [name for name in also if name not in plain]
        return queryset.select_related(None).prefetch_related(None).values(*plain, **named)

    def represent(self, rows: Iterable[dict]) -> list[dict]:
        if self._plan is None:
            self._build()
        plan = self._plan
        out = []
        for row in rows:
            item = {}
            for name, key, convert in plan:
                value = row[key]
                item[name] = value if value is None or convert is None else convert(value)
            out.append(item)
        return out
