from __future__ import annotations

from django.db.models import Count, F, Sum, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join

from .. import reports
from ..models import Deal, Pipeline
from .common import SalesPage

CARDS_PER_STAGE = 50
_ID = 987654321  # a sentinel id: an URL is reversed once per page, then filled in for each card


def _url_for_each(name: str):
    pattern = reverse(name, args=[_ID]).replace(str(_ID), "{}")
    return pattern.format


def _stage_options(stages) -> dict[int, str]:
    """The "Move to" options of a card in each stage (that stage selected): built once per page, not for
    every card, since a board shows up to CARDS_PER_STAGE cards per column."""
    return {
        current.pk: format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((s.pk, " selected" if s.pk == current.pk else "", s.name) for s in stages),
        )
        for current in stages
    }


class BoardView(SalesPage):
    """A pipeline as columns of stages: count, total and weighted total per column; stale deals marked."""

    def get(self, request, pk: int | None = None):
        pipelines = list(Pipeline.objects.filter(is_active=True))
        pipeline = (
            next((p for p in pipelines if p.pk == pk), None)
            if pk
            else next((p for p in pipelines if p.is_default), pipelines[0] if pipelines else None)
        )
        if pk and pipeline is None:
            raise Http404("No such pipeline.")  # a foreign, missing or inactive id: the same 404
        if pipeline is None:
            return render(request, "sales/board.html", {"pipelines": [], "columns": []})
        stages = list(pipeline.stages.filter(kind="open").order_by("position"))
        open_deals = Deal.objects.filter(pipeline=pipeline, status="open")
        totals = {
            row["stage"]: row
            for row in open_deals.values("stage").annotate(
                n=Count("id"), total=Sum("amount"), weighted=Sum(reports.weighted_amount())
            )
        }
        # The biggest CARDS_PER_STAGE deals of every column, in one query (a window per stage), so a column
        # full of large deals never pushes another column's cards off the board.
        ranked = open_deals.annotate(
            rank=Window(RowNumber(), partition_by=F("stage_id"), order_by=[F("amount").desc(), F("id").asc()])
        ).filter(rank__lte=CARDS_PER_STAGE)
        cards: dict[int, list[Deal]] = {stage.pk: [] for stage in stages}
        now = timezone.now()
        options = _stage_options(stages)
        detail_url, move_url = _url_for_each("sales:deal_detail"), _url_for_each("sales:deal_move")
        expected = {stage.pk: stage.expected_days for stage in stages}
        for deal in ranked.select_related("company").order_by("stage_id", "rank"):
            if deal.stage_id in cards:
                deal.days_in_stage = (now - deal.stage_entered_at).days
                deal.is_stale = deal.days_in_stage > expected[deal.stage_id]
                deal.detail_url, deal.move_url = detail_url(deal.pk), move_url(deal.pk)
                deal.move_options = options[deal.stage_id]
                cards[deal.stage_id].append(deal)
        columns = [
            {
                "stage": stage,
                "deals": cards[stage.pk],
                "count": totals.get(stage.pk, {}).get("n", 0),
                "total": totals.get(stage.pk, {}).get("total") or 0,
                "weighted": totals.get(stage.pk, {}).get("weighted") or 0,
            }
            for stage in stages
        ]
        context = {
            "pipeline": pipeline,
            "pipelines": pipelines,
            "columns": columns,
            "stages": stages,
            "can_write": self.can_write(),
        }
        return render(request, "sales/board.html", context)
