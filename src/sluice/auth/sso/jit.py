"""Just-in-time provisioning: the person a provider vouches for gets an account and a membership."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.auth.accounts import add_member, create_user, find_user, membership_of
from sluice.auth.audit import Actor, AuditContext, bind_audit_context, current_audit_context, record_audit
from sluice.auth.permissions import Role
from sluice.auth.sso.oidc import OidcIdentity
from sluice.auth.sso.saml import SamlIdentity
from sluice.core.errors import NotAuthenticated, NotFound
from sluice.store.tables.auth import SsoProvider, User


def provider_for_email(session: Session, email: str, provider_id: str | None = None) -> SsoProvider:
    """The enabled provider that signs in this email's domain (or the one asked for)."""
    domain = email.strip().lower().rsplit("@", 1)[-1]
    providers = session.scalars(
        select(SsoProvider).where(SsoProvider.enabled.is_(True)).order_by(SsoProvider.id)
    ).all()
    for provider in providers:
        if provider_id and provider.id != provider_id:
            continue
        if provider_id or domain in {d.lower() for d in provider.domains}:
            return provider
    raise NotFound(f"single sign-on is not set up for {domain!r}; sign in with your password")


def provision(session: Session, provider: SsoProvider, identity: OidcIdentity | SamlIdentity) -> User:
    """The user for a verified identity: created if new, made a member with the default role if not one."""
    user = find_user(session, identity.email)
    if user is None:
        user = create_user(session, identity.email, name=identity.name)
    if not user.is_active:
        raise NotAuthenticated("this account is disabled")
    context = current_audit_context(session)
    bind_audit_context(
        session,
        AuditContext(
            actor=Actor("user", user.id, user.email), workspace_id=provider.workspace_id, ip=context.ip
        ),
    )
    if membership_of(session, user.id, provider.workspace_id) is None:
        add_member(session, user, provider.workspace_id, Role(provider.default_role))
    record_audit(
        session,
        "auth.sso_login",
        "user",
        user.id,
        {"provider": provider.name, "subject": identity.subject},
        workspace_id=provider.workspace_id,
    )
    return user
