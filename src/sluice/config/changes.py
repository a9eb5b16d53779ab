"""What a plan is made of: changes, and the context they run in when applied."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.core.crypto import SecretBox
from sluice.core.errors import NotFound
from sluice.store.tables.models import Model
from sluice.store.tables.sources import Source
from sluice.warehouse.connection import Warehouse
from sluice.warehouse.sources import open_source


@dataclass
class ApplyContext:
    """What applying needs: the session, the workspace, the secret box and open warehouses."""

    session: Session
    workspace_id: str
    box: SecretBox
    warehouses: dict[str, Warehouse] = field(default_factory=dict)

    def source(self, name: str) -> Source:
        row = self.session.scalar(
            select(Source).where(Source.workspace_id == self.workspace_id, Source.name == name)
        )
        if row is None:
            raise NotFound(f"source {name!r} not found")
        return row

    def model(self, name: str) -> Model:
        row = self.session.scalar(
            select(Model).where(Model.workspace_id == self.workspace_id, Model.name == name)
        )
        if row is None:
            raise NotFound(f"model {name!r} not found")
        return row

    def source_of(self, model: Model) -> Source:
        row = self.session.get(Source, model.source_id)
        if row is None:
            raise NotFound(f"the source of model {model.name!r} is gone")
        return row

    def warehouse(self, source: Source) -> Warehouse:
        if source.id not in self.warehouses:
            self.warehouses[source.id] = open_source(source, self.box)
        return self.warehouses[source.id]

    def close(self) -> None:
        for warehouse in self.warehouses.values():
            warehouse.close()


@dataclass
class Change:
    """One change a plan makes."""

    phase: int
    action: str
    kind: str
    name: str
    detail: str
    run: Callable[[ApplyContext], None]

    def describe(self) -> str:
        sign = {"create": "+", "update": "~", "delete": "-"}[self.action]
        return f"{sign} {self.action} {self.kind} {self.name}" + (f": {self.detail}" if self.detail else "")
