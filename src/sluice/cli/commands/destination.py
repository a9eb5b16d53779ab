"""``sluice destination``: destination types and their local emulators."""

from __future__ import annotations

from pathlib import Path

import typer

destination_app = typer.Typer(help="Destination types and vendor emulators.", no_args_is_help=True)


@destination_app.command("types")
def list_types() -> None:
    """List the destination types with their services, targets and identifiers."""
    from sluice.destinations import registry

    for connector in registry.all_types():
        caps = connector.capabilities
        typer.echo(
            f"{connector.type_name:<12} {connector.title:<16} services={','.join(sorted(caps.services))} "
            f"targets={','.join(sorted(caps.target_kinds))} identifiers={','.join(sorted(caps.identifiers))} "
            f"batch={caps.batch_size} read_members={'yes' if caps.can_read_members else 'no'}"
        )


@destination_app.command("emulate")
def emulate(
    name: str = typer.Argument(..., help="Destination type (mailchimp, intercom, voyado) or 'all'."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(9000, help="Port to listen on."),
    latency: float = typer.Option(0.0, help="Seconds added to every vendor response."),
    seed_warehouse: Path | None = typer.Option(
        None, help="DuckDB demo warehouse whose users (about 90%) become existing contacts."
    ),
) -> None:
    """Serve a vendor emulator (or all of them under /emulators/<name>) on a loopback port."""
    from sluice.destinations import emulators, registry

    names = None if name == "all" else [registry.get(name).type_name]
    contacts = emulators.demo_contacts(seed_warehouse) if seed_warehouse else []
    shown = ", ".join(names or [c.type_name for c in registry.all_types()])
    typer.echo(
        f"emulating {shown} on http://{host}:{port}{emulators.MOUNT_PREFIX}/<name>  (index: /emulators)"
    )
    emulators.serve_all(host, port, names=names, latency=latency, contacts=contacts)


def register(app: typer.Typer) -> None:
    app.add_typer(destination_app, name="destination")
