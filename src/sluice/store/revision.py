"""Generate a new Alembic revision from the table definitions: ``python -m sluice.store.revision MESSAGE``.

Autogenerate runs against a scratch SQLite database migrated to the current head, so the new
revision contains exactly the difference, chained after the current head.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from sluice.store.db import Database
from sluice.store.migrate import MIGRATIONS_DIR, alembic_config, upgrade


def main(message: str) -> Path:
    """Write the revision file and return its path."""
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/scratch.db"
        upgrade(Database(url, "scratch-key"))
        config = alembic_config(url)
        heads = ScriptDirectory.from_config(config).get_heads()
        number = len(list((MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))) + 1
        slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
        rev_id = f"{number:04d}_{slug}"
        script = command.revision(config, message=message, autogenerate=True, rev_id=rev_id, head=heads[0])
    assert script is not None
    assert not isinstance(script, list)
    path = Path(script.path)
    final = path.with_name(f"{rev_id}.py")
    path.rename(final)
    final.write_text(final.read_text().replace("astext_type=Text()", "astext_type=sa.Text()"))
    return final


if __name__ == "__main__":
    print(main(" ".join(sys.argv[1:]) or "change"))
