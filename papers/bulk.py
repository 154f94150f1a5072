"""Lean bulk INSERT for the ingest's hot paths: papers, sightings and topic rows at feed volume.

QuerySet.bulk_create compiles every value of every row through the ORM's expression machinery:
for a thousand papers that costs more than the database takes to store them, and on SQLite it
assumes the 999-variable limit of old builds (25 statements per thousand papers). The ingest's
hot inserts go through `insert_rows` and `insert_rows_returning_pks` instead: values of plain
types are sent as they are, other fields still prepare their own values, and rows go in few
statements (new papers by COPY on PostgreSQL). The rest of the app keeps the ORM: these paths are
worth their extra code only at feed volume.
"""

import sqlite3
import time
from collections.abc import Sequence

from django.db import connection, models

# Rows per INSERT/UPDATE statement and ids per IN (...) lookup: well under SQLite's variable limit.
BATCH_SIZE = 500


def chunks(values: Sequence, size: int = BATCH_SIZE):
    """`values` in consecutive slices of at most `size`."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


# Fields whose Python values (str, int, float, bool, None) need no preparation for the database.
_PLAIN_INTERNAL_TYPES = frozenset(
    {
        "BigIntegerField", "BooleanField", "CharField", "FloatField", "ForeignKey", "IntegerField",
        "PositiveBigIntegerField", "PositiveIntegerField", "PositiveSmallIntegerField",
        "SlugField", "SmallIntegerField", "TextField",
    }
)  # fmt: skip
_POSTGRES_MAX_PARAMS = 65535  # the wire protocol counts parameters in 16 bits
_UNNEST_BATCH_SIZE = 5000  # rows per INSERT ... SELECT FROM UNNEST on PostgreSQL (a few MB of text)


def _db_adapter(field: models.Field):
    """A function turning a Python value of `field` into what the database driver is given."""
    internal_type = field.get_internal_type()
    if internal_type in _PLAIN_INTERNAL_TYPES:
        return None
    if internal_type == "DateTimeField":
        # Values are aware datetimes, what the full get_db_prep_save would only check. A feed's
        # papers share a few dates (and the ingest's "now"): each is converted once.
        adapt, converted = connection.ops.adapt_datetimefield_value, {}

        def adapt_datetime(value):
            if value not in converted:
                converted[value] = adapt(value)
            return converted[value]

        return adapt_datetime
    if internal_type == "JSONField":
        # What JSONField.get_db_prep_save comes down to for plain lists and dicts.
        adapt_json, encoder = connection.ops.adapt_json_value, field.encoder
        return lambda value: adapt_json(value, encoder)
    return lambda value: field.get_db_prep_save(value, connection=connection)


def max_query_params() -> int:
    """How many parameters one statement may carry on this database."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        # The build's real limit (32766 since SQLite 3.32), not Django's conservative 999.
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    if connection.vendor == "postgresql":
        return _POSTGRES_MAX_PARAMS
    return connection.features.max_query_params or 999


def _values_statements(fields: list[models.Field], rows: Sequence[Sequence]):
    """(SQL, params) of multi-row VALUES lists, as many rows a statement as the parameter limit allows."""
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, min(BATCH_SIZE, max_query_params() // len(fields)))
    for batch in chunks(rows, per_statement):
        yield "VALUES " + ", ".join([row_sql] * len(batch)), [value for row in batch for value in row]


def _unnest_statements(fields: list[models.Field], rows: Sequence[Sequence]):
    """PostgreSQL: (SQL, params) with one array per column, SELECT * FROM UNNEST(...).

    The driver expands a VALUES list of ten thousand placeholders in Python, which costs more
    than the server takes to store the rows; one array per column keeps the statement short.
    Rows come out of UNNEST, and their ids out of RETURNING, in order (bulk_create relies on it too).
    """
    # varchar[] rather than varchar(40)[]: a cast to a sized array would silently truncate.
    db_types = [field.db_type(connection).split("(")[0] for field in fields]
    # Column types come from the model's fields; every value is a parameter.
    arrays = ", ".join(f"(%s)::{db_type}[]" for db_type in db_types)
    select = f"SELECT * FROM UNNEST({arrays})"  # noqa: S608
    for batch in chunks(rows, _UNNEST_BATCH_SIZE):
        yield select, [list(column) for column in zip(*batch, strict=True)]


def _prepared(fields: list[models.Field], rows: Sequence[Sequence]) -> Sequence[Sequence]:
    adapters = [(position, _db_adapter(field)) for position, field in enumerate(fields)]
    adapters = [(position, adapter) for position, adapter in adapters if adapter is not None]
    if not adapters:
        return rows
    prepared = []
    for row in rows:
        row = list(row)
        for position, adapter in adapters:
            row[position] = adapter(row[position])
        prepared.append(row)
    return prepared


def _insert_head(model: type[models.Model], fields: list[models.Field]) -> str:
    quote = connection.ops.quote_name
    # Only names from the model's metadata go into the SQL text; every value is a parameter.
    return f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "


def insert_rows(
    model: type[models.Model],
    *,
    columns: Sequence[str],
    rows: Sequence[Sequence],
    ignore_conflicts: bool = False,
) -> None:
    """INSERT `rows` (Python values, in the order of `columns`) in multi-row statements.

    With `ignore_conflicts`, rows that break a unique constraint are left out (ON CONFLICT DO NOTHING).
    """
    if not rows:
        return
    fields = [model._meta.get_field(column) for column in columns]
    head = _insert_head(model, fields)
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    statements = _unnest_statements if connection.vendor == "postgresql" else _values_statements
    with connection.cursor() as cursor:
        for rows_sql, params in statements(fields, _prepared(fields, rows)):
            cursor.execute(head + rows_sql + tail, params)


def insert_rows_returning_pks(
    model: type[models.Model], *, columns: Sequence[str], rows: Sequence[Sequence]
) -> list[int]:
    """INSERT `rows` like `insert_rows`; returns their new primary keys, in the order of `rows`.

    PostgreSQL: keys drawn from the table's sequence, rows loaded with COPY, its bulk-load path
    (a third of the time of INSERT ... SELECT FROM UNNEST for a thousand papers). Elsewhere:
    INSERT ... RETURNING, whose rows come back in order as bulk_create relies on.
    """
    if not rows:
        return []
    meta = model._meta
    fields = [meta.get_field(column) for column in columns]
    prepared = _prepared(fields, rows)
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        return _copy_rows(model, fields, prepared)
    pks: list[int] = []
    head = _insert_head(model, fields)
    tail = f" RETURNING {quote(meta.pk.column)}"
    with connection.cursor() as cursor:
        for rows_sql, params in _values_statements(fields, prepared):
            cursor.execute(head + rows_sql + tail, params)
            pks.extend(pk for (pk,) in cursor.fetchall())
    return pks


def _copy_rows(model: type[models.Model], fields: list[models.Field], rows: Sequence[Sequence]) -> list[int]:
    """PostgreSQL: reserve len(rows) ids from the table's sequence, then COPY the rows with them."""
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in (meta.pk, *fields))
    # Only names from the model's metadata go into the SQL text.
    copy_sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [quote(meta.db_table), meta.pk.column, len(rows)],
        )
        pks = [pk for (pk,) in cursor.fetchall()]
        started = time.monotonic()
        # COPY is not an execute(): errors are translated (IntegrityError for a concurrent insert,
        # which the upsert retries) and the statement is logged (query capture) here.
        with connection.wrap_database_errors, cursor.copy(copy_sql) as copy:
            for pk, row in zip(pks, rows, strict=True):
                copy.write_row((pk, *row))
        if connection.queries_logged:
            connection.queries_log.append(
                {"sql": f"{copy_sql} -- {len(rows)} rows", "time": f"{time.monotonic() - started:.3f}"}
            )
    return pks
