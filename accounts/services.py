"""Writes on a workspace's people and credentials. Views, API, commands and tasks call these."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .models import ApiKey, Invitation, User
from .roles import ALL_SCOPES, Role, expand_scopes

SESSION_TENANT_KEY = "_tenant_schema"
API_KEY_PREFIX = "tdm_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _clean_text(field: str, value: object, *, max_length: int, required: bool, errors: dict) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if "\x00" in text:
        errors[field] = ["This field cannot contain NUL characters."]
    elif required and not text:
        errors[field] = ["This field is required."]
    elif len(text) > max_length:
        errors[field] = [f"Use at most {max_length} characters."]
    return text


def _clean_email(field: str, value: object, errors: dict) -> str:
    email = value.strip().lower() if isinstance(value, str) else ""
    try:
        if not email:
            raise ValidationError("This field is required.")
        if len(email) > 254 or "\x00" in email:
            raise ValidationError("Enter a valid email address.")
        validate_email(email)
    except ValidationError as exc:
        errors[field] = exc.messages
    return email


def _clean_roles(field: str, roles: object, errors: dict) -> list[str]:
    if not isinstance(roles, list | tuple | set) or not roles:
        errors[field] = ["Choose at least one role."]
        return []
    unknown = [str(r) for r in roles if r not in Role.values]
    if unknown:
        errors[field] = [f"Unknown role: {', '.join(sorted(unknown))}. Choose from {', '.join(Role.values)}."]
        return []
    return [r for r in Role.values if r in roles]  # canonical order, no duplicates


def session_login(request, user) -> None:
    """Every login path goes through here: the session is bound to the schema it was made in."""
    auth_login(request, user, backend=_backend_for(user))
    request.session[SESSION_TENANT_KEY] = connection.schema_name


def _backend_for(user) -> str:
    if isinstance(user, User):
        return "accounts.backends.TenantUserBackend"
    return "accounts.tenancy.backends.PlatformAdminBackend"


# --- Users ---------------------------------------------------------------------------------------


def user_create(
    *,
    email: str,
    full_name: str,
    roles: Iterable[str],
    password: str | None = None,
    password_hash: str | None = None,
) -> User:
    errors: dict[str, list[str]] = {}
    email = _clean_email("email", email, errors)
    full_name = _clean_text("full_name", full_name, max_length=150, required=True, errors=errors)
    role_list = _clean_roles("roles", list(roles), errors)
    if not errors and User.objects.filter(email__iexact=email).exists():
        errors["email"] = ["A user with this email address already exists in this workspace."]
    user = User(email=email, full_name=full_name, roles=role_list)
    if password is not None and not errors:
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    if password_hash:
        user.password = password_hash
    else:
        user.set_password(password)  # None -> unusable password
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise ValidationError({"email": ["A user with this email address already exists."]}) from exc
    return user


def user_update(
    *,
    user: User,
    actor: User,
    full_name: str | None = None,
    roles: Iterable[str] | None = None,
    is_active: bool | None = None,
) -> User:
    errors: dict[str, list[str]] = {}
    fields: list[str] = []
    if full_name is not None:
        user.full_name = _clean_text("full_name", full_name, max_length=150, required=True, errors=errors)
        fields.append("full_name")
    if roles is not None:
        user.roles = _clean_roles("roles", list(roles), errors)
        fields.append("roles")
    if is_active is not None:
        user.is_active = bool(is_active)
        fields.append("is_active")
    if user.pk == actor.pk and (
        (roles is not None and Role.ADMIN not in user.roles) or (is_active is not None and not is_active)
    ):
        errors.setdefault("roles", []).append("You cannot remove your own admin role or deactivate yourself.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if (Role.ADMIN not in user.roles or not user.is_active) and not _other_active_admin_exists(user):
            raise ValidationError({"roles": ["A workspace needs at least one active admin."]})
        user.save(update_fields=fields)
    return user


def _other_active_admin_exists(user: User) -> bool:
    return (
        User.objects.select_for_update()
        .filter(is_active=True, roles__contains=[Role.ADMIN])
        .exclude(pk=user.pk)
        .exists()
    )


def user_change_password(*, user: User, old_password: str, new_password: str) -> User:
    if not user.check_password(old_password):
        raise ValidationError({"old_password": ["Your current password is not correct."]})
    try:
        validate_password(new_password, user=user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    return user


# --- Invitations ---------------------------------------------------------------------------------


def invitation_create(*, email: str, roles: Iterable[str], invited_by: User | None) -> tuple[Invitation, str]:
    """Invite ``email`` with ``roles``. Inviting again replaces the open invitation's link.

    Returns the invitation and the raw token, which exists only in the e-mail that carries it.
    """
    errors: dict[str, list[str]] = {}
    email = _clean_email("email", email, errors)
    role_list = _clean_roles("roles", list(roles), errors)
    if not errors and User.objects.filter(email__iexact=email).exists():
        errors["email"] = ["This person is already a member of the workspace."]
    if errors:
        raise ValidationError(errors)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    expires = now + timedelta(days=settings.TANDEM_INVITATION_DAYS)
    with transaction.atomic():
        Invitation.objects.filter(email__iexact=email, accepted__isnull=True, revoked__isnull=True).update(
            revoked=now
        )
        invitation = Invitation.objects.create(
            email=email, roles=role_list, token_hash=_hash(token), invited_by=invited_by, expires=expires
        )
    return invitation, token


def invitation_send(*, invitation: Invitation, token: str, accept_url: str) -> None:
    """Queue the invitation e-mail once the invitation is committed."""
    from config.outbox import enqueue

    from .tasks import send_invitation_email

    enqueue(
        send_invitation_email,
        connection.schema_name,
        kwargs={"invitation_id": invitation.pk, "accept_url": accept_url},
    )


def invitation_for_token(token: str) -> Invitation | None:
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    invitation = Invitation.objects.filter(token_hash=_hash(token)).first()
    if invitation is None or not invitation.is_open:
        return None
    return invitation


def invitation_accept(*, token: str, full_name: str, password: str) -> User:
    errors: dict[str, list[str]] = {}
    full_name = _clean_text("full_name", full_name, max_length=150, required=True, errors=errors)
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update().filter(token_hash=_hash(token or "")).first()
            if isinstance(token, str)
            else None
        )
        if invitation is None or not invitation.is_open:
            raise ValidationError({"token": ["This invitation link is invalid, expired or already used."]})
        probe = User(email=invitation.email, full_name=full_name)
        if not password:
            errors["password"] = ["Choose a password."]
        else:
            try:
                validate_password(password, user=probe)
            except ValidationError as exc:
                errors["password"] = exc.messages
        if errors:
            raise ValidationError(errors)
        user = user_create(
            email=invitation.email, full_name=full_name, roles=invitation.roles, password=password
        )
        invitation.accepted = timezone.now()
        invitation.accepted_user = user
        invitation.save(update_fields=["accepted", "accepted_user"])
    return user


def invitation_revoke(*, invitation: Invitation) -> Invitation:
    if invitation.accepted or invitation.revoked:
        raise ValidationError("Only pending invitations can be revoked.")
    invitation.revoked = timezone.now()
    invitation.save(update_fields=["revoked"])
    return invitation


# --- API keys ------------------------------------------------------------------------------------


def api_key_create(
    *, name: str, scopes: Iterable[str], created_by: User | None, expires: datetime | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is shown once and never stored."""
    errors: dict[str, list[str]] = {}
    name = _clean_text("name", name, max_length=100, required=True, errors=errors)
    scope_list = list(scopes) if isinstance(scopes, list | tuple | set | frozenset) else []
    unknown = sorted(str(s) for s in scope_list if s not in ALL_SCOPES)
    if not scope_list:
        errors["scopes"] = ["Choose at least one scope."]
    elif unknown:
        errors["scopes"] = [f"Unknown scope: {', '.join(unknown)}. Scopes look like 'marketing:read'."]
    if expires is not None and expires <= timezone.now():
        errors["expires"] = ["The expiry must be in the future."]
    if errors:
        raise ValidationError(errors)
    prefix = API_KEY_PREFIX + secrets.token_hex(4)
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        key_hash=_hash(secret),
        scopes=sorted(expand_scopes(scope_list)),
        created_by=created_by,
        expires=expires,
    )
    return key, secret


def api_key_authenticate(*, raw: str) -> ApiKey | None:
    """The usable key for ``raw``, or None. Records the last use at most once a minute."""
    if not isinstance(raw, str) or not raw.startswith(API_KEY_PREFIX) or len(raw) > 128:
        return None
    prefix = raw[: len(API_KEY_PREFIX) + 8]
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None or not secrets.compare_digest(key.key_hash, _hash(raw)) or not key.is_usable:
        return None
    now = timezone.now()
    if key.last_used is None or key.last_used < now - timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used=now)
        key.last_used = now
    return key


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked is None:
        key.revoked = timezone.now()
        key.save(update_fields=["revoked"])
    return key
