"""The acting principal of a request: who acts, in which workspace, with which role."""

from __future__ import annotations

from dataclasses import dataclass

from sluice.auth.permissions import Permission, Role, role_allows


@dataclass(frozen=True)
class Principal:
    """Who is acting. Every service call receives one; nothing assumes a global user."""

    workspace_id: str
    role: Role
    user_id: str | None = None
    token_id: str | None = None
    display_name: str = "system"

    def can(self, permission: Permission) -> bool:
        return role_allows(self.role, permission)
