"""The content library: assets sales uses as collateral."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from config.validation import clean_into, resolve_ids, unknown_fields

from ..models import Campaign, ContentAsset

logger = logging.getLogger(__name__)

CONTENT_FIELDS = ("title", "kind", "funnel_stage", "description", "url", "file", "campaigns", "tags")
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
USAGE_COUNTERS = {"view": "view_count", "download": "download_count", "share": "share_count"}


def _apply(asset: ContentAsset, data: dict) -> tuple[dict, list[Campaign] | None]:
    errors = unknown_fields(data, CONTENT_FIELDS)
    campaigns = None
    for key, value in data.items():
        if key in errors:
            continue
        if key == "tags":
            tags = [t.strip() for t in value.split(",")] if isinstance(value, str) else value
            if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
                errors["tags"] = ["Give a list of tags."]
            else:
                asset.tags = sorted({t.strip().lower() for t in tags if t.strip()})
        elif key == "campaigns":
            campaigns = resolve_ids(Campaign, value, key, errors)
        elif key == "file":
            if value is not None and getattr(value, "size", 0) > MAX_UPLOAD_BYTES:
                errors["file"] = [f"Files are limited to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."]
            else:
                asset.file = value or ""
        else:
            setattr(asset, key, value.strip() if isinstance(value, str) else value)
    clean_into(asset, errors)
    if not asset.url and not asset.file and "url" not in errors and "file" not in errors:
        errors["url"] = ["Give a URL or upload a file."]
    return errors, campaigns


def _save_asset(asset: ContentAsset, data: dict) -> ContentAsset:
    errors, campaigns = _apply(asset, data)
    if errors:
        raise ValidationError(errors)
    asset.save()
    if campaigns is not None:
        asset.campaigns.set(campaigns)
    return asset


@transaction.atomic
def content_create(*, data: dict, actor=None) -> ContentAsset:
    return _save_asset(ContentAsset(created_by=actor), data)


@transaction.atomic
def content_update(*, asset: ContentAsset, data: dict) -> ContentAsset:
    return _save_asset(asset, data)


@transaction.atomic
def content_delete(*, asset: ContentAsset) -> None:
    """Delete the asset; its stored file goes only once the deletion is committed, so a rolled-back
    deletion never leaves a row whose file is gone."""
    name, storage = asset.file.name, asset.file.storage
    asset.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))


def content_file_open(*, asset: ContentAsset):
    """The asset's stored file, open for reading; a row without one, or whose file is no longer in storage,
    is a 404 (logged), never a 500."""
    from django.http import Http404

    if not asset.file:
        raise Http404
    try:
        return asset.file.open("rb")
    except FileNotFoundError:
        logger.warning("content asset %s: file %s is missing from storage", asset.pk, asset.file.name)
        raise Http404 from None


def content_record_use(*, asset: ContentAsset, use: str) -> None:
    """Count a view, download or share atomically (no read-modify-write)."""
    if use not in USAGE_COUNTERS:
        raise ValidationError({"use": [f"Choose one of {', '.join(USAGE_COUNTERS)}."]})
    field = USAGE_COUNTERS[use]
    ContentAsset.objects.filter(pk=asset.pk).update(**{field: F(field) + 1})
