"""Flat input and output serializers of the alignment API. Lists read ``.values()`` rows, so the output
serializers are plain ones; the rules for definition changes are the service's (``definition_update``)."""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import DefinitionVersion
from .services import DEFINITION_FIELDS, TEXT_FIELDS


class MetricOut(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    formula = serializers.CharField()
    unit = serializers.CharField(help_text="count | ratio | currency | days | hours | months | index")
    better = serializers.CharField(help_text="up or down: which direction is good")
    owners = serializers.ListField(child=serializers.CharField(), help_text="marketing, sales or both")
    periods = serializers.ListField(child=serializers.CharField(), help_text="Granularities stored")
    dimensions = serializers.ListField(child=serializers.CharField(), help_text="Breakdowns stored")
    view = serializers.CharField(help_text="period | cohort | snapshot")
    needs = serializers.CharField(help_text="Facts that arrive with a later module; empty when computed")
    notes = serializers.CharField()


class MetricListOut(serializers.Serializer):
    results = MetricOut(many=True)


class MetricValueOut(serializers.Serializer):
    id = serializers.IntegerField()
    metric = serializers.CharField()
    granularity = serializers.CharField()
    period_start = serializers.DateField()
    dimension = serializers.CharField(help_text="Empty for the whole workspace")
    dimension_value = serializers.CharField(
        help_text="Channel code or the id of the campaign, segment, team, rep, pipeline, send or stage; "
        "'none' for facts without one"
    )
    model = serializers.CharField(help_text="The attribution model of attributed metrics, else empty")
    definition = serializers.IntegerField(help_text="The definition version the value was computed with")
    value = serializers.DecimalField(
        max_digits=20, decimal_places=6, allow_null=True, help_text="null means no data (never 0)"
    )
    numerator = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True)
    denominator = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True)
    computed_at = serializers.DateTimeField()


class AttributionCreditOut(serializers.Serializer):
    id = serializers.IntegerField()
    deal = serializers.IntegerField()
    deal_name = serializers.CharField()
    touchpoint = serializers.IntegerField()
    touchpoint_kind = serializers.CharField()
    touched_at = serializers.DateTimeField()
    model = serializers.CharField()
    definition = serializers.IntegerField()
    weight = serializers.DecimalField(max_digits=13, decimal_places=12)
    credit = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="The deal's credits per model sum exactly to its amount"
    )
    campaign = serializers.IntegerField(allow_null=True)
    campaign_name = serializers.CharField(allow_null=True)
    channel = serializers.CharField()
    deal_created_at = serializers.DateTimeField()
    deal_won_at = serializers.DateTimeField(allow_null=True)


class AttributionRollupOut(serializers.Serializer):
    model = serializers.CharField()
    dimension = serializers.CharField(help_text="campaign or channel")
    dimension_value = serializers.CharField(help_text="Campaign id or channel code; 'none' without one")
    campaign_name = serializers.CharField(allow_null=True, help_text="Campaign rows only")
    definition = serializers.IntegerField()
    attributed_pipeline = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    attributed_opportunities = serializers.DecimalField(
        max_digits=20, decimal_places=6, allow_null=True, help_text="Σ of the deals' credit shares"
    )
    attributed_revenue = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    cost_per_opportunity = serializers.DecimalField(
        max_digits=20, decimal_places=2, allow_null=True, help_text="Σ spend / Σ attributed opportunities"
    )
    campaign_roi = serializers.DecimalField(
        max_digits=20, decimal_places=6, allow_null=True, help_text="(Σ revenue - Σ spend) / Σ spend"
    )


class DefinitionOut(serializers.ModelSerializer):
    is_current = serializers.SerializerMethodField(help_text="The version now in force")
    is_reporting = serializers.SerializerMethodField(
        help_text="The version the reports show (the newest with a finished full recompute)"
    )
    created_by_name = serializers.CharField(source="created_by.full_name", default=None, read_only=True)

    class Meta:
        model = DefinitionVersion
        fields = [
            "id",
            "is_current",
            "is_reporting",
            "created_at",
            "created_by",
            "created_by_name",
            *DEFINITION_FIELDS,
            *TEXT_FIELDS,
        ]
        read_only_fields = fields

    def get_is_current(self, version: DefinitionVersion) -> bool:
        return version.pk == self.context.get("current_id")

    def get_is_reporting(self, version: DefinitionVersion) -> bool:
        return version.pk == self.context.get("reporting_id")


class _NumberSetting(serializers.CharField):
    """A number as JSON number or string; its range is the service's to check (one set of messages)."""

    default_error_messages = {"invalid": "Enter a number."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        return super().to_internal_value(str(data))


@extend_schema_field(
    {
        "anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\s*-?\d+\s*$"}],
        "description": "A whole number (JSON number or string)",
    }
)
class _WholeSetting(_NumberSetting):
    pass


@extend_schema_field(
    {
        "anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\s*-?(\d+\.?\d*|\.\d+)\s*$"}],
        "description": "A number (JSON number or string)",
    }
)
class _DecimalSetting(_NumberSetting):
    pass


class _TextSetting(serializers.CharField):
    default_error_messages = {"invalid": "Give text."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class DefinitionIn(serializers.Serializer):
    """Any subset of the settings; the fields follow ``services.DEFINITION_FIELDS`` so they never drift."""

    def get_fields(self) -> dict:
        fields: dict = {}
        for name, (kind, low, high) in DEFINITION_FIELDS.items():
            model_help = DefinitionVersion._meta.get_field(name).help_text
            bounds = f"{'A whole number' if kind == 'int' else 'A number'} from {low} to {high}."
            field = _WholeSetting if kind == "int" else _DecimalSetting
            fields[name] = field(
                required=False,
                allow_blank=True,
                help_text=f"{model_help}. {bounds}" if model_help else bounds,
            )
        for name in TEXT_FIELDS:
            fields[name] = _TextSetting(
                required=False,
                allow_blank=True,
                trim_whitespace=False,
                max_length=200,
                help_text="1 to 200 characters.",
            )
        return fields

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown setting."] for name in unknown})
        return super().to_internal_value(data)


class RecomputeOut(serializers.Serializer):
    id = serializers.IntegerField()
    requested_at = serializers.DateTimeField()
    requested_by = serializers.IntegerField(source="requested_by_id", allow_null=True)
