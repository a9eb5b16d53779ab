"""Destination types, discovered rather than listed (ADR 0001, ADR 0003).

Two sources, no hand-edited list:

- every sub-package of :mod:`sluice.destinations` whose ``connector`` module defines a
  :class:`~sluice.destinations.sdk.Connector` subclass (a new folder is a new destination);
- the ``sluice.destinations`` entry-point group, for destinations shipped in other packages
  (``[project.entry-points."sluice.destinations"] braze = "sluice_braze.connector:BrazeConnector"``).

A destination's emulator is the :class:`~sluice.destinations.emulation.Emulator` subclass in the
``emulator`` module beside its connector.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from sluice.core.errors import NotFound
from sluice.destinations.emulation import Emulator
from sluice.destinations.sdk import Connector

ENTRY_POINT_GROUP = "sluice.destinations"


def _subclass_in(module: ModuleType, base: Any) -> Any:
    """The concrete subclass of ``base`` defined in ``module``, if any."""
    for _, member in inspect.getmembers(module, inspect.isclass):
        defined_here = member.__module__ == module.__name__
        if (
            defined_here
            and issubclass(member, base)
            and member is not base
            and not inspect.isabstract(member)
        ):
            return member
    return None


@cache
def _discover() -> dict[str, type[Connector]]:
    import sluice.destinations as package

    found: dict[str, type[Connector]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg or info.name == "testing":
            continue
        try:
            module = importlib.import_module(f"{package.__name__}.{info.name}.connector")
        except ModuleNotFoundError as exc:
            if exc.name == f"{package.__name__}.{info.name}.connector":
                continue
            raise
        connector: type[Connector] | None = _subclass_in(module, Connector)
        if connector is not None:
            found[connector.type_name] = connector
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        loaded = entry.load()
        if isinstance(loaded, type) and issubclass(loaded, Connector):
            found.setdefault(loaded.type_name, loaded)
    return dict(sorted(found.items()))


def all_types() -> list[type[Connector]]:
    """Every destination type, by name."""
    return list(_discover().values())


def get(type_name: str) -> type[Connector]:
    """The destination type called ``type_name``, or :class:`NotFound` naming the known ones."""
    try:
        return _discover()[type_name]
    except KeyError:
        known = ", ".join(_discover()) or "none"
        raise NotFound(f"unknown destination type {type_name!r} (known: {known})") from None


def emulator_class(type_name: str) -> type[Emulator]:
    """The emulator of a destination type (its ``emulator`` module beside the connector)."""
    connector = get(type_name)
    package = connector.__module__.rsplit(".", 1)[0]
    module = importlib.import_module(f"{package}.emulator")
    emulator: type[Emulator] | None = _subclass_in(module, Emulator)
    if emulator is None:
        raise NotFound(f"destination type {type_name!r} has no emulator")
    return emulator
