"""Uploaded content is stored per tenant and served only to that tenant's users."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django_tenants.utils import schema_context

from marketing.models import ContentAsset
from tests.conftest import api_client, api_key_for, client_for, login

pytestmark = pytest.mark.django_db


def _upload(slug: str, role: str = "marketing") -> ContentAsset:
    client = login(slug, role)
    upload = SimpleUploadedFile(
        "battlecard.pdf", b"%PDF-1.4 secret of " + slug.encode(), content_type="application/pdf"
    )
    response = client.post(
        "/marketing/content/new/",
        {"title": f"{slug} battlecard", "kind": "battlecard", "funnel_stage": "decision", "file": upload},
    )
    assert response.status_code == 302, response.content[:500]
    connection.set_schema_to_public()
    with schema_context(slug):
        return ContentAsset.objects.get(title=f"{slug} battlecard")


def test_files_live_under_the_tenant_folder_and_are_served_to_its_users_only(tenant_a, tenant_b, media):
    asset = _upload("alpha")
    stored = list(Path(media).rglob("battlecard*.pdf"))
    assert len(stored) == 1 and stored[0].relative_to(media).parts[0] == "alpha"
    reader = login("alpha", "sales")
    response = reader.get(f"/marketing/content/{asset.pk}/file/")
    assert response.status_code == 200
    assert b"secret of alpha" in b"".join(response.streaming_content)
    assert response["Cache-Control"] == "private, no-store"
    connection.set_schema_to_public()
    # beta's users, beta's keys and anonymous visitors never get alpha's file
    assert login("beta", "admin").get(f"/marketing/content/{asset.pk}/file/").status_code == 404
    connection.set_schema_to_public()
    beta_key = api_key_for("beta", ["marketing:read"])
    assert api_client("beta", beta_key).get(f"/api/v1/content/{asset.pk}/file/").status_code == 404
    assert client_for("alpha").get(f"/marketing/content/{asset.pk}/file/").status_code == 302
    assert client_for("alpha").get(f"/media/alpha/{stored[0].name}").status_code == 404
    with schema_context("alpha"):
        assert ContentAsset.objects.get(pk=asset.pk).download_count == 1


def test_api_key_download_counts_and_needs_the_scope(tenant_a, media):
    asset = _upload("alpha")
    assert (
        api_client("alpha", api_key_for("alpha", ["sales:read"]))
        .get(f"/api/v1/content/{asset.pk}/file/")
        .status_code
        == 403
    )
    response = api_client("alpha", api_key_for("alpha", ["marketing:read"])).get(
        f"/api/v1/content/{asset.pk}/file/"
    )
    assert response.status_code == 200


def test_content_can_be_linked_to_campaigns_from_the_portal(tenant_a, media):
    from marketing.models import Campaign
    from tests.marketing import factories

    with schema_context("alpha"):
        campaign = factories.campaign(name="Linked launch")
    response = login("alpha", "marketing").post(
        "/marketing/content/new/",
        {
            "title": "Launch one-pager",
            "kind": "one_pager",
            "funnel_stage": "consideration",
            "url": "https://example.com/one-pager",
            "campaigns": [campaign.pk],
        },
    )
    assert response.status_code == 302, response.content[:500]
    with schema_context("alpha"):
        asset = ContentAsset.objects.get(title="Launch one-pager")
        assert list(asset.campaigns.values_list("pk", flat=True)) == [campaign.pk]
        assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_the_api_takes_a_file_as_base64_in_the_json_body(tenant_a, media):
    import base64

    client = api_client("alpha", api_key_for("alpha", ["marketing:read", "marketing:write"]))
    pdf = b"%PDF-1.4 api upload"
    body = {
        "title": "API battlecard",
        "kind": "battlecard",
        "funnel_stage": "decision",
        "file": {"name": "folder/card.pdf", "content_base64": base64.b64encode(pdf).decode()},
    }
    created = client.post("/api/v1/content/", body, content_type="application/json")
    assert created.status_code == 201, created.content[:300]
    assert created.json()["url"] == "" and created.json()["file_url"]
    download = client.get(f"/api/v1/content/{created.json()['id']}/file/")
    assert b"".join(download.streaming_content) == pdf
    assert download["Content-Disposition"].endswith('card.pdf"')  # the name without its folder
    not_base64 = {**body, "file": {"name": "x.pdf", "content_base64": "%%%"}}
    refused = client.post("/api/v1/content/", not_base64, content_type="application/json")
    assert refused.status_code == 422 and refused.json()["error"]["fields"] == {
        "file": ["content_base64 is not valid base64."]
    }
    nameless = {**body, "file": {"content_base64": "AA=="}}
    malformed = client.post("/api/v1/content/", nameless, content_type="application/json")
    assert malformed.status_code == 400 and set(malformed.json()["error"]["fields"]) == {"file.name"}
    with schema_context("alpha"):
        assert ContentAsset.objects.filter(title="API battlecard").count() == 1


def test_a_file_name_storage_cannot_take_becomes_upload(tenant_a, media):
    client = api_client("alpha", api_key_for("alpha", ["marketing:write"]))
    body = {
        "title": "Odd name",
        "kind": "battlecard",
        "funnel_stage": "decision",
        "file": {"name": "\u008a\u00b7", "content_base64": "etQ="},
    }
    response = client.post("/api/v1/content/", body, content_type="application/json")
    assert response.status_code == 201, response.content[:300]  # was Django's bare 400
    with schema_context("alpha"):
        assert ContentAsset.objects.get(title="Odd name").file.name.rsplit("/", 1)[-1].startswith("upload")


def test_a_deleted_assets_file_goes_only_when_the_deletion_commits(
    tenant_a, media, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from marketing.services.content import content_delete

    asset = _upload("alpha")
    stored = Path(media) / "alpha" / asset.file.name
    assert stored.exists()
    # a deletion that is rolled back keeps the row and its file
    with schema_context("alpha"):
        with transaction.atomic():
            content_delete(asset=ContentAsset.objects.get(pk=asset.pk))
            transaction.set_rollback(True)
        assert ContentAsset.objects.filter(pk=asset.pk).exists()
    assert stored.exists()
    # a committed one removes both
    with schema_context("alpha"), django_capture_on_commit_callbacks(execute=True):
        content_delete(asset=ContentAsset.objects.get(pk=asset.pk))
    assert not stored.exists()


def test_a_file_missing_from_storage_is_a_404_not_a_500(tenant_a, media):
    asset = _upload("alpha")
    (Path(media) / "alpha" / asset.file.name).unlink()
    assert login("alpha", "marketing").get(f"/marketing/content/{asset.pk}/file/").status_code == 404
    key = api_key_for("alpha", ["marketing:read"])
    assert api_client("alpha", key).get(f"/api/v1/content/{asset.pk}/file/").status_code == 404
