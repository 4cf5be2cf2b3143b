"""Which Tandem field a CSV column holds, from its name.

A team switching to Tandem uploads the export of its old tool as it is: the column names of HubSpot,
Pipedrive and Salesforce exports are recognised, as are Tandem's own field names (so an export from
Tandem imports again unchanged). Names match ignoring case, accents, punctuation, spacing and a trailing
currency or unit in brackets: "Amount spent (USD)", "amount_spent" and "Amount Spent" are one name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

CONTACTS, COMPANIES, TOUCHPOINTS, COSTS = "contacts", "companies", "touchpoints", "costs"
KINDS = (CONTACTS, COMPANIES, TOUCHPOINTS, COSTS)

# Per kind: Tandem field -> the column names it is recognised under, most specific first. When a file has
# several columns for one field (HubSpot's "Phone Number" and "Mobile Phone Number"), the column whose
# name comes first here wins and the others are reported as not imported.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    CONTACTS: {
        "email": (
            "email", "Email Address", "E-mail", "Person - Email", "Person - Email - Work",
            "Person - Email - Home", "Person - Email - Other", "Work Email", "Primary Email", "Contact Email",
        ),
        "first_name": ("first_name", "FirstName", "Person - First name", "Given Name", "Forename"),
        "last_name": ("last_name", "LastName", "Person - Last name", "Surname", "Family Name"),
        "full_name": ("full_name", "Name", "Person - Name", "Contact Name", "Contact", "Lead Name"),
        "phone": (
            "phone", "Phone Number", "Person - Phone", "Person - Phone - Work", "Business Phone",
            "Mobile Phone Number", "MobilePhone", "Mobile", "Person - Phone - Mobile",
        ),
        "job_title": ("job_title", "Title", "Person - Job title", "Position", "Job Position", "Role"),
        "seniority": ("seniority", "Seniority Level"),
        "company": (
            "company", "Company Name", "Associated Company", "Person - Organization", "Organization - Name",
            "Account Name", "Account", "Organization", "Organisation",
        ),
        "country": ("country", "Country/Region", "MailingCountry", "Mailing Country", "Person - Country"),
        "region": ("region", "State/Region", "State", "MailingState", "Mailing State/Province", "Province"),
        "lifecycle_stage": ("lifecycle_stage", "Lifecycle Stage", "Stage"),
        "consent_marketing": ("consent_marketing", "Marketing Consent", "Email Opt-in", "Opted In"),
        "unsubscribed": (
            "unsubscribed", "Unsubscribed from all email", "HasOptedOutOfEmail", "Email Opt Out",
            "Opted out of email", "Person - Opted out",
        ),
        "age_band": ("age_band", "Age Range"),
        "gender": ("gender", "Sex"),
        "marital_status": ("marital_status",),
        "income_band": ("income_band",),
        "education": ("education", "Education Level"),
        "occupation": ("occupation",),
        "interests": ("interests",),
        "owner": ("owner",),
    },
    COMPANIES: {
        "name": (
            "name", "Company Name", "Company", "Organization - Name", "Account Name", "Organization",
            "Organisation",
        ),
        "domain": (
            "domain", "Company Domain Name", "Website URL", "Website", "Organization - Website", "Web Site",
            "Web Domain",
        ),
        "industry": ("industry", "Organization - Industry"),
        "size_band": (
            "size_band", "Number of Employees", "NumberOfEmployees", "Employees",
            "Organization - Number of employees", "Company Size", "Size",
        ),
        "country": (
            "country", "Country/Region", "BillingCountry", "Billing Country", "Organization - Country",
            "Organization - Address - Country", "Organization - Country of Address",
        ),
        "region": (
            "region", "State/Region", "State", "BillingState", "Billing State/Province",
            "Organization - Address - State", "Organization - State of Address", "Province",
        ),
        "annual_revenue_band": (
            "annual_revenue_band", "Annual Revenue", "AnnualRevenue", "Organization - Annual revenue",
            "Revenue",
        ),
    },
    TOUCHPOINTS: {
        "kind": ("kind", "Touchpoint Type", "Activity Type", "Event Type", "Interaction Type", "Type"),
        "email": ("email", "Contact Email", "Email Address", "Person - Email", "E-mail"),
        "contact_id": ("contact_id",),
        "anonymous_id": ("anonymous_id", "Visitor ID", "Anonymous Visitor"),
        "campaign_id": ("campaign_id",),
        "content_id": ("content_id",),
        "send_id": ("send_id",),
        "channel": ("channel",),
        "occurred_at": (
            "occurred_at", "Timestamp", "Date", "Activity Date", "Event Date", "Date/Time", "Time",
            "Created At",
        ),
        "utm_source": ("utm_source", "Source"),
        "utm_medium": ("utm_medium", "Medium"),
        "utm_campaign": ("utm_campaign", "Campaign"),
        "utm_term": ("utm_term", "Term", "Keyword"),
        "utm_content": ("utm_content",),
        "referrer": ("referrer", "Referrer URL", "Referring URL", "Referer"),
        "url": ("url", "Page URL", "Page"),
        "external_id": ("external_id", "Activity ID", "Event ID", "Record ID", "ID"),
    },
    COSTS: {
        "campaign": ("campaign", "Campaign Name", "Campaign ID", "utm_campaign", "Campaign Code"),
        "date": ("date", "Day", "Spend Date", "Cost Date", "Reporting starts"),
        "amount": ("amount", "Cost", "Spend", "Amount Spent", "Spent", "Total Cost"),
        "note": ("note", "Notes", "Description", "Memo", "Comment"),
    },
}  # fmt: skip

# Per kind: groups of fields, each group satisfied by any one of its fields.
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    CONTACTS: (("email",),),
    COMPANIES: (("name",),),
    TOUCHPOINTS: (("kind",), ("email", "contact_id", "anonymous_id")),
    COSTS: (("campaign",), ("date",), ("amount",)),
}

_SOURCE = "Tandem takes a contact's source from its touchpoints"
_OWNER = "map it to owner yourself if it holds the e-mail addresses or names of Tandem users"
_OWN_ID = "Tandem gives its own ids and matches rows on other columns"
_OWN_TIME = "Tandem records its own creation time"

# Columns of the usual exports that are recognised but deliberately not imported, with the reason.
NOT_IMPORTED: dict[str, dict[str, str]] = {
    CONTACTS: {
        "Original Source": _SOURCE, "Original Source Drill-Down 1": _SOURCE,
        "Original Source Drill-Down 2": _SOURCE, "LeadSource": _SOURCE, "Lead Source": _SOURCE,
        "Person - Source": _SOURCE, "Contact owner": _OWNER, "Lead Owner": _OWNER,
        "Person - Owner": _OWNER, "OwnerId": _OWN_ID, "Record ID": _OWN_ID, "Id": _OWN_ID,
        "Person - ID": _OWN_ID, "Create Date": _OWN_TIME, "CreatedDate": _OWN_TIME,
        "Person - Person created": _OWN_TIME,
    },
    COMPANIES: {
        "Company owner": _OWNER, "Owner": _OWNER, "Organization - Owner": _OWNER, "OwnerId": _OWN_ID,
        "Record ID": _OWN_ID, "Id": _OWN_ID, "Organization - ID": _OWN_ID, "Create Date": _OWN_TIME,
        "CreatedDate": _OWN_TIME, "Organization - Organization created": _OWN_TIME,
    },
    TOUCHPOINTS: {},
    COSTS: {},
}  # fmt: skip

_BRACKETED_SUFFIX = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*$")


def normalise(name: str) -> str:
    """The comparable form of a column name: lower-case letters and digits only, accents removed and a
    trailing bracketed unit dropped ("Amount spent (USD)" -> "amountspent")."""
    text = unicodedata.normalize("NFKD", name or "").lstrip("\ufeff")
    text = _BRACKETED_SUFFIX.sub("", text) or text
    return "".join(ch for ch in text.casefold() if ch.isalnum() and ch.isascii())


def _lookup(kind: str) -> dict[str, tuple[str, int]]:
    """normalised alias -> (field, preference); a lower preference wins."""
    table: dict[str, tuple[str, int]] = {}
    for field, aliases in ALIASES[kind].items():
        for rank, alias in enumerate(aliases):
            table.setdefault(normalise(alias), (field, rank))
    return table


_LOOKUPS = {kind: _lookup(kind) for kind in KINDS}


def fields(kind: str) -> tuple[str, ...]:
    """The Tandem fields a file of this kind can fill."""
    return tuple(ALIASES[kind])


def field_for(kind: str, column: str) -> str | None:
    match = _LOOKUPS[kind].get(normalise(column))
    return match[0] if match else None


def suggest_mapping(kind: str, headers: Iterable[str]) -> dict[str, str]:
    """{column: field} for the columns recognised. Each field gets at most one column: the one whose
    name is preferred in ``ALIASES``, else the leftmost."""
    best: dict[str, tuple[int, int, str]] = {}
    for position, column in enumerate(headers):
        match = _LOOKUPS[kind].get(normalise(column))
        if match is None:
            continue
        field, rank = match
        if field not in best or (rank, position) < best[field][:2]:
            best[field] = (rank, position, column)
    ordered = sorted(best.items(), key=lambda item: item[1][1])
    return {column: field for field, (_, _, column) in ordered}


def missing_required(kind: str, mapped_fields: Iterable[str]) -> list[tuple[str, ...]]:
    """The required groups that no mapped field satisfies."""
    present = set(mapped_fields)
    return [group for group in REQUIRED[kind] if not present.intersection(group)]


def not_imported(kind: str, headers: Iterable[str], mapping: Mapping[str, str]) -> list[str]:
    """One sentence per column of the file that the mapping leaves out, saying why."""
    reasons = {normalise(name): reason for name, reason in NOT_IMPORTED[kind].items()}
    notes = []
    for column in headers:
        if not column.strip() or column in mapping:
            continue
        reason = reasons.get(normalise(column))
        if reason is None:
            field = field_for(kind, column)
            reason = f"another column already fills {field}" if field else "no Tandem field has this name"
        notes.append(f"Column {column!r} is not imported: {reason}.")
    return notes
