"""Roles and the permissions they grant: the one place that decides who may do what."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    """An action on a kind of object. Every API route declares exactly one."""

    WORKSPACE_READ = "workspace:read"
    WORKSPACE_MANAGE = "workspace:manage"
    MEMBERS_MANAGE = "members:manage"
    AUDIT_READ = "audit:read"
    SOURCES_READ = "sources:read"
    SOURCES_WRITE = "sources:write"
    MODELS_READ = "models:read"
    MODELS_WRITE = "models:write"
    SEGMENTS_READ = "segments:read"
    SEGMENTS_WRITE = "segments:write"
    DESTINATIONS_READ = "destinations:read"
    DESTINATIONS_WRITE = "destinations:write"
    ACTIVATIONS_READ = "activations:read"
    ACTIVATIONS_WRITE = "activations:write"
    ACTIVATIONS_RUN = "activations:run"
    TOKENS_PERSONAL = "tokens:personal"
    TOKENS_SERVICE = "tokens:service"


class Role(StrEnum):
    """Workspace roles, from most to least powerful."""

    OWNER = "owner"
    ADMIN = "admin"
    EDITOR = "editor"
    OPERATOR = "operator"
    VIEWER = "viewer"


_READ = {p for p in Permission if p.value.endswith(":read")}
_VIEWER = (_READ - {Permission.AUDIT_READ}) | {Permission.TOKENS_PERSONAL}
_OPERATOR = _VIEWER | {Permission.ACTIVATIONS_RUN}
_EDITOR = _OPERATOR | {
    Permission.MODELS_WRITE,
    Permission.SEGMENTS_WRITE,
    Permission.ACTIVATIONS_WRITE,
}
_ADMIN = _EDITOR | {
    Permission.SOURCES_WRITE,
    Permission.DESTINATIONS_WRITE,
    Permission.MEMBERS_MANAGE,
    Permission.AUDIT_READ,
    Permission.TOKENS_SERVICE,
}
_OWNER = set(Permission)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(_OWNER),
    Role.ADMIN: frozenset(_ADMIN),
    Role.EDITOR: frozenset(_EDITOR),
    Role.OPERATOR: frozenset(_OPERATOR),
    Role.VIEWER: frozenset(_VIEWER),
}


ROLE_RANK: dict[Role, int] = {role: rank for rank, role in enumerate(reversed(Role))}


def role_allows(role: Role, permission: Permission) -> bool:
    """Whether ``role`` grants ``permission``."""
    return permission in ROLE_PERMISSIONS[role]


def role_within(role: Role, ceiling: Role) -> bool:
    """Whether ``role`` is no more powerful than ``ceiling`` (nobody grants more than they hold)."""
    return ROLE_RANK[role] <= ROLE_RANK[ceiling]


def weaker_role(first: Role, second: Role) -> Role:
    """The less powerful of two roles."""
    return first if ROLE_RANK[first] <= ROLE_RANK[second] else second
