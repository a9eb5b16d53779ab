"""One run's local diff workspace: a DuckDB connection that validates, hashes, diffs and commits.

The audience arrives as an Arrow record-batch stream. It is spooled as-is to an Arrow IPC file in
the run's work directory (a sequential write, no conversion) and DuckDB keeps only a narrow table
of key, identifier, change hash and validity; the mapped field values are read back from the
spool for the few rows that are added or changed. Memory stays bounded whatever the audience
size, and the expensive part of a run is proportional to the audience's width only once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.ipc as ipc

from sluice.sync.audience import IDENTIFIER, INTEGER_KEY, KEY, ROW_HASH, TEXT_KEY, AudienceSpec, key_type_of
from sluice.sync.diff import (
    CHANGE,
    DIFF_TABLE,
    OLD_IDENTIFIER,
    DiffCounts,
    compute_diff,
    create_diff_views,
    diff_counts,
    row_hash_expression,
)
from sluice.sync.plan import (
    OP,
    PLAN_TABLE,
    SEQUENCE,
    PlanCounts,
    RemovalBehaviour,
    Service,
    build_plan,
    committed_changes_sql,
    undelivered_keys_sql,
)
from sluice.sync.snapshot import SnapshotStore
from sluice.sync.sql import column_type, quote_ident
from sluice.sync.validate import (
    REASON,
    ValidationResult,
    mark_malformed,
    presence_reason_expression,
    validate,
)

AUDIENCE = "audience"
FIELDS = "audience_fields"
SNAPSHOT = "snapshot"
HELD = "held_keys"
DELIVERED = "delivered_ops"
OUTCOMES = "outcomes"


class DiffSession:
    """Validate → hash → diff → commit for one activation run, in DuckDB."""

    def __init__(self, spec: AudienceSpec, temp_dir: Path, memory_limit: str | None = None) -> None:
        self.spec = spec
        self.temp_dir = temp_dir
        temp_dir.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(config={"temp_directory": str(temp_dir), "preserve_insertion_order": False})
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self.validation: ValidationResult | None = None
        # Where diff views read mapped field values: the spool (local) or the audience table (prepared).
        self.fields_view: str | None = None
        # The snapshot this run diffed against (None: first run or full refresh); commit follows it.
        self.snapshot_uri: str | None = None
        # How keys are joined (integer or text, ADR 0006), and the type of the keys of the fields view.
        self.key_type = TEXT_KEY
        self.fields_key_type = TEXT_KEY
        # The snapshot was read with another key type: commit writes a full one in this session's.
        self.rewrite_snapshot = False

    def close(self) -> None:
        self.con.close()

    def load(self, audience: pa.RecordBatchReader | pa.Table) -> None:
        """Spool the extracted audience and keep its key, identifier, change hash and validity.

        Integer keys stay integers, other keys and identifiers become text (identifiers arrive
        normalised by the extract query); one pass over the spool computes ``__hash`` and the
        cheap part of ``__reason`` (the identifier's format is checked by :meth:`diff`, for new
        identifiers only). Field values stay in the spool, exposed as the view :data:`FIELDS` for
        the rows that need them.
        """
        reader = audience.to_reader() if isinstance(audience, pa.Table) else audience
        spool = self.temp_dir / "audience.arrow"
        with pa.OSFile(str(spool), "wb") as sink, ipc.new_file(sink, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
        self.con.register("audience_spool", ds.dataset(str(spool), format="ipc"))
        self.key_type = self.fields_key_type = key_type_of(reader.schema.field(KEY).type)
        key = f"CAST({KEY} AS {self.key_type})"
        identifier = f"CAST({IDENTIFIER} AS VARCHAR)"
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {AUDIENCE} AS
            SELECT {KEY}, {IDENTIFIER}, {row_hash_expression(self.spec.fields)} AS {ROW_HASH},
                   {presence_reason_expression()} AS {REASON}
            FROM (SELECT {key} AS {KEY}, {identifier} AS {IDENTIFIER}
                         {"".join(f", {quote_ident(name)}" for name in self.spec.fields)}
                  FROM audience_spool)"""
        )
        fields = "".join(f", {quote_ident(name)}" for name in self.spec.fields)
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {FIELDS} AS SELECT {key} AS {KEY}{fields} FROM audience_spool"
        )
        self.fields_view = FIELDS

    def load_prepared(self, rows: pa.RecordBatchReader) -> None:
        """In-warehouse mode: the rows the warehouse sent (invalid, added and changed), hash and reason included."""
        self.con.register("prepared_arrow", rows)
        fields = "".join(f", {quote_ident(name)}" for name in self.spec.fields)
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {AUDIENCE} AS
            SELECT CAST({KEY} AS VARCHAR) AS {KEY}, CAST({IDENTIFIER} AS VARCHAR) AS {IDENTIFIER}{fields},
                   CAST({ROW_HASH} AS VARCHAR) AS {ROW_HASH}, CAST({REASON} AS VARCHAR) AS {REASON}
            FROM prepared_arrow"""
        )
        self.con.unregister("prepared_arrow")

    def load_diff(self, diff: pa.RecordBatchReader) -> None:
        """In-warehouse mode: the diff the warehouse computed becomes this session's ``diff`` table."""
        validation = self.validation or self.validate()
        self.con.register("diff_arrow", diff)
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {DIFF_TABLE} AS
            SELECT CAST({CHANGE} AS VARCHAR) AS {CHANGE}, CAST({KEY} AS VARCHAR) AS {KEY},
                   CAST({IDENTIFIER} AS VARCHAR) AS {IDENTIFIER}, CAST({ROW_HASH} AS VARCHAR) AS {ROW_HASH},
                   CAST({OLD_IDENTIFIER} AS VARCHAR) AS {OLD_IDENTIFIER}
            FROM diff_arrow"""
        )
        self.con.unregister("diff_arrow")
        create_diff_views(self.con, validation.valid_view)

    def undelivered_keys(self) -> pa.Table:
        """Keys whose planned ops did not all arrive (they keep their old snapshot row)."""
        table: pa.Table = self.con.sql(undelivered_keys_sql(OUTCOMES)).to_arrow_table()
        return table

    def validate(self) -> ValidationResult:
        """Null and duplicate keys, missing identifiers (malformed identifiers: see :meth:`diff`)."""
        self.validation = validate(self.con, AUDIENCE, self.spec)
        return self.validation

    def diff(self, store: SnapshotStore, snapshot_uri: str | None) -> DiffCounts:
        """Diff the valid audience against the snapshot at ``snapshot_uri`` (None = first run).

        Then checks the format of every identifier the snapshot does not hold for its key (added
        rows, moved identifiers): a malformed one makes its row invalid and takes it out of the
        diff, so :attr:`validation` is final only after this call.
        """
        self.rewrite_snapshot = self._attach_snapshot(store, snapshot_uri)
        self.snapshot_uri = snapshot_uri
        validation = self.validation or self.validate()
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {HELD} AS SELECT DISTINCT CAST({KEY} AS {self.key_type}) AS {KEY} "
            f"FROM {validation.invalid_view} WHERE {KEY} IS NOT NULL"
        )
        compute_diff(
            self.con,
            validation.valid_view,
            SNAPSHOT,
            HELD if validation.invalid_count else None,
            fields_view=self.fields_view,
            fields_key_type=self.fields_key_type,
        )
        new_identifiers = (
            f"SELECT CAST({KEY} AS {self.key_type}) AS {KEY}, {IDENTIFIER} FROM {DIFF_TABLE} "
            f"WHERE {CHANGE} = 'added' OR ({CHANGE} = 'changed' AND {IDENTIFIER} IS DISTINCT FROM {OLD_IDENTIFIER})"
        )
        self.validation, malformed = mark_malformed(
            self.con, AUDIENCE, new_identifiers, self.spec, validation
        )
        self.con.execute(
            f"DELETE FROM {DIFF_TABLE} WHERE {CHANGE} <> 'removed' "
            f"AND {KEY} IN (SELECT CAST({KEY} AS VARCHAR) FROM {malformed})"
        )
        self.con.execute(f"INSERT INTO {HELD} SELECT {KEY} FROM {malformed}")
        return diff_counts(self.con, validation.valid_view, self.validation.valid_count)

    def _attach_snapshot(self, store: SnapshotStore, uri: str | None) -> bool:
        """Expose the snapshot at ``uri`` as :data:`SNAPSHOT` with this session's key type.

        A snapshot written with another key type (the model's key type changed, or it predates
        integer keys) is read cast: text keys become integers when every one is an integer
        written canonically, otherwise this session falls back to text keys. Returns True when
        the snapshot was cast (commit then writes a full snapshot in the session's key type).
        """
        store.attach(self.con, uri, SNAPSHOT, key_type=self.key_type if uri is None else None)
        if uri is None:
            return False
        stored = column_type(self.con, quote_ident(SNAPSHOT), KEY)
        if stored == self.key_type:
            return False
        if self.key_type == INTEGER_KEY and stored == TEXT_KEY and not self._has_non_integer_keys(SNAPSHOT):
            store.attach(self.con, uri, SNAPSHOT, key_type=INTEGER_KEY)
        elif self.key_type == INTEGER_KEY and stored == TEXT_KEY:
            self.con.execute(f"ALTER TABLE {AUDIENCE} ALTER {KEY} TYPE VARCHAR")
            self.key_type = TEXT_KEY
            self.validate()
        else:
            store.attach(self.con, uri, SNAPSHOT, key_type=self.key_type)
        return True

    def _has_non_integer_keys(self, view: str) -> bool:
        """Whether ``view``'s text keys include one that is not an integer in canonical form."""
        found = self.con.execute(
            f"SELECT 1 FROM {quote_ident(view)} "
            f"WHERE CAST(TRY_CAST({KEY} AS BIGINT) AS VARCHAR) IS DISTINCT FROM {KEY} LIMIT 1"
        ).fetchall()
        return bool(found)

    def full_refresh_diff(self, store: SnapshotStore) -> DiffCounts:
        """Diff against an empty snapshot: every valid row is an add (historical refresh)."""
        return self.diff(store, None)

    def add_removals_from(self, store: SnapshotStore, snapshot_uri: str) -> DiffCounts:
        """Full refresh: also remove what the previous snapshot holds and the audience no longer has.

        Every valid row is re-sent as an add; a removal is never lost by a full refresh.
        """
        validation = self.validation or self.validate()
        store.attach(self.con, snapshot_uri, "previous_snapshot")
        same_type = column_type(self.con, "previous_snapshot", KEY) == self.key_type

        def key(alias: str) -> str:
            # Compared as text when the previous snapshot has another key type (the model changed).
            return f"{alias}.{KEY}" if same_type else f"CAST({alias}.{KEY} AS VARCHAR)"

        self.con.execute(
            f"""INSERT INTO {DIFF_TABLE} BY NAME
            SELECT 'removed' AS {CHANGE}, CAST(s.{KEY} AS VARCHAR) AS {KEY}, s.{IDENTIFIER}, s.{ROW_HASH},
                   s.{IDENTIFIER} AS {OLD_IDENTIFIER}
            FROM previous_snapshot s
            ANTI JOIN {validation.valid_view} c ON {key("c")} = {key("s")}
            ANTI JOIN {HELD} h ON {key("h")} = {key("s")}"""
        )
        return diff_counts(self.con, validation.valid_view, validation.valid_count)

    def add_remote_removals(self, remote_members: pa.Table) -> DiffCounts:
        """Full refresh of a destination that can list members: remove members not in the audience.

        ``remote_members`` has one column ``__identifier`` (as the destination reports it). Members
        unknown to Sluice get a synthetic key ``remote:<identifier>``.
        """
        validation = self.validation or self.validate()
        self.con.register("remote_members_arrow", remote_members)
        self.con.execute(
            f"""INSERT INTO {DIFF_TABLE} BY NAME
            SELECT DISTINCT 'removed' AS {CHANGE}, 'remote:' || r.{IDENTIFIER} AS {KEY}, r.{IDENTIFIER},
                   NULL::UBIGINT AS {ROW_HASH}, r.{IDENTIFIER} AS {OLD_IDENTIFIER}
            FROM (SELECT lower(trim(CAST({IDENTIFIER} AS VARCHAR))) AS {IDENTIFIER} FROM remote_members_arrow) r
            WHERE r.{IDENTIFIER} NOT IN (SELECT {IDENTIFIER} FROM {validation.valid_view} WHERE {IDENTIFIER} IS NOT NULL)
              AND r.{IDENTIFIER} NOT IN (SELECT {IDENTIFIER} FROM {DIFF_TABLE} WHERE {CHANGE} = 'removed')
              AND r.{IDENTIFIER} NOT IN (SELECT {IDENTIFIER} FROM {validation.invalid_view} WHERE {IDENTIFIER} IS NOT NULL)"""
        )
        self.con.unregister("remote_members_arrow")
        return diff_counts(self.con, validation.valid_view, validation.valid_count)

    def changes(self, kind: str, batch_rows: int = 10_000) -> Iterator[pa.RecordBatch]:
        """Stream ``diff_added`` / ``diff_changed`` / ``diff_removed`` as Arrow batches."""
        if kind not in ("added", "changed", "removed"):
            raise ValueError(kind)
        reader = self.con.sql(f"SELECT * FROM diff_{kind} ORDER BY {KEY}").to_arrow_reader(batch_rows)
        yield from reader

    def plan(self, service: Service, *, removal: RemovalBehaviour = RemovalBehaviour.IGNORE) -> PlanCounts:
        """Turn this run's diff into operations (the ``plan`` table)."""
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {OUTCOMES} "
            f"({KEY} VARCHAR, {IDENTIFIER} VARCHAR, {OP} VARCHAR, status VARCHAR, message VARCHAR)"
        )
        return build_plan(self.con, service, self.spec.fields, removal=removal)

    def planned_batches(self, batch_rows: int) -> Iterator[pa.RecordBatch]:
        """Stream the operations to send (not ``skip``), removals of moved identifiers first.

        Ops come grouped by ``(__seq, __op)`` so the destination gets full batches of one kind,
        each group streamed by a filtered scan (no sort of the whole plan). The stream has its own
        cursor, so outcomes can be recorded while it is read.
        """
        groups = self.con.execute(
            f"SELECT DISTINCT {SEQUENCE}, {OP} FROM {PLAN_TABLE} WHERE {OP} <> 'skip' ORDER BY ALL"
        ).fetchall()
        cursor = self.con.cursor()
        try:
            for sequence, op in groups:
                reader = cursor.execute(
                    f"SELECT * EXCLUDE ({CHANGE}, {SEQUENCE}) FROM {PLAN_TABLE} WHERE {SEQUENCE} = ? AND {OP} = ?",
                    [sequence, op],
                ).to_arrow_reader(batch_rows)
                yield from reader
        finally:
            cursor.close()

    def record_outcomes(self, outcomes: pa.Table) -> None:
        """Append per-row outcomes (``__key``, ``__identifier``, ``__op``, ``status``, ``message``)."""
        self.con.register("outcomes_arrow", outcomes)
        self.con.execute(
            f"INSERT INTO {OUTCOMES} SELECT {KEY}, {IDENTIFIER}, {OP}, status, message FROM outcomes_arrow"
        )
        self.con.unregister("outcomes_arrow")

    def outcome_counts(self) -> dict[str, int]:
        """Outcomes recorded so far, by status."""
        rows = self.con.execute(f"SELECT status, count(*) FROM {OUTCOMES} GROUP BY ALL").fetchall()
        return {str(status): int(n) for status, n in rows}

    def commit_outcomes(self, store: SnapshotStore, uri: str) -> tuple[str, int]:
        """Write the next snapshot from the recorded outcomes: keys whose every op was delivered."""
        delivered = self.con.sql(committed_changes_sql(OUTCOMES)).to_arrow_table()
        return self.commit(store, delivered, uri)

    def export_outcomes(self, store: SnapshotStore, uri: str) -> int:
        """Write per-row outcomes and invalid rows to one Parquet file for troubleshooting."""
        validation = self.validation or self.validate()
        select = (
            f"SELECT {KEY}, {IDENTIFIER}, {OP} AS operation, status, message FROM {OUTCOMES} "
            f"UNION ALL SELECT {KEY}, {IDENTIFIER}, NULL, 'invalid', {REASON} FROM {validation.invalid_view}"
        )
        return store.write(self.con, select, uri)

    def invalid_rows(self) -> pa.Table:
        validation = self.validation or self.validate()
        table: pa.Table = self.con.sql(f"SELECT * FROM {validation.invalid_view}").to_arrow_table()
        return table

    def commit(
        self, store: SnapshotStore, delivered: pa.Table | pa.RecordBatchReader, uri: str
    ) -> tuple[str, int]:
        """Write the next snapshot (old + delivered ops); returns the URI to point at and its rows.

        ``delivered`` has columns ``op`` ('add' | 'change' | 'remove') and ``__key``; the identifier
        and hash are taken from this run's diff so callers only report which ops were delivered.
        ``uri`` (from :meth:`SnapshotStore.new_uri`) names the files written: a full snapshot, or a
        delta and its manifest (see :mod:`sluice.sync.snapshot`).
        """
        self.con.register("delivered_arrow", delivered)
        # Keys go back to the snapshot's type; a removal of a member Sluice never keyed (``remote:…``)
        # has no integer form and no snapshot row to drop.
        key = f"TRY_CAST(d.{KEY} AS {self.key_type})"
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {DELIVERED} AS
            SELECT d.op, {key} AS {KEY}, c.{IDENTIFIER}, c.{ROW_HASH}
            FROM delivered_arrow d LEFT JOIN {DIFF_TABLE} c ON CAST(d.{KEY} AS VARCHAR) = c.{KEY}
            WHERE {key} IS NOT NULL"""
        )
        self.con.unregister("delivered_arrow")
        return store.commit(
            self.con, self.snapshot_uri, SNAPSHOT, DELIVERED, uri, rewrite=self.rewrite_snapshot
        )

    def scalar(self, sql: str) -> Any:
        rows = self.con.execute(sql).fetchall()
        return rows[0][0] if rows else None
