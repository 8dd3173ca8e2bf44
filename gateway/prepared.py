"""A Core statement compiled once per process and run on a bare DBAPI cursor.

For the hottest statement of a request (a USSD step's one round trip), SQLAlchemy's
per-execution work (the compiled cache's key, the execution context, the result's
metadata and Row objects) cost more CPU than building the answer (callgrind). Here the
statement is compiled once per dialect; a call only turns parameters into the
driver's (the columns' own bind processors) and the row into a dict of Python values
(their result processors: aware UTC datetimes, JSON), as SQLAlchemy would. A statement
that returns no rows (an UPDATE) is a `PreparedWrite`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, cast

from sqlalchemy import Select, Update
from sqlalchemy.engine import Dialect

Processor = Callable[[Any], Any]


class PreparedWrite:
    """`statement` compiled for `dialect`: its SQL and its parameters' processors."""

    def __init__(self, statement: Select[Any] | Update, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self._compiled = compiled
        self._positions = tuple(compiled.positiontup or ()) if compiled.positional else None
        self._binds: dict[str, Processor] = {
            name: processor
            for bind, name in compiled.bind_names.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
        }

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters for `values` (literals of the statement included)."""
        params = self._compiled.construct_params(dict(values))
        for name, processor in self._binds.items():
            params[name] = processor(params[name])
        if self._positions is None:
            return params
        return tuple(params[name] for name in self._positions)

    def run(self, cursor: Any, values: Mapping[str, Any]) -> int:
        """Run on `cursor`; how many rows it changed."""
        cursor.execute(self.sql, self.parameters(values))
        return int(cursor.rowcount)


class PreparedSelect(PreparedWrite):
    """`statement` compiled for `dialect`: its SQL, parameters and column processors."""

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        super().__init__(statement, dialect)
        columns = list(statement.selected_columns)
        # An unnamed column (a function's) is read by position only: its key is None.
        self.keys: tuple[str | None, ...] = tuple(column.key for column in columns)
        self._results: tuple[Processor | None, ...] = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )

    def first(self, cursor: Any, values: Mapping[str, Any]) -> dict[str | None, Any] | None:
        """Run on `cursor`; the first row as {column key: value}, or None."""
        cursor.execute(self.sql, self.parameters(values))
        row = cursor.fetchone()
        if row is None:
            return None
        return {
            key: processor(value) if processor is not None else value
            for key, processor, value in zip(self.keys, self._results, row, strict=True)
        }


_PREPARED: dict[tuple[Any, str, str], PreparedWrite] = {}
_MADE = threading.Lock()


def prepared(statement: Select[Any], dialect: Dialect) -> PreparedSelect:
    """`statement` (built once, e.g. under functools.cache) compiled for `dialect`,
    once per process: keyed by dialect name and driver, so every engine shares it."""
    return cast(PreparedSelect, _once(statement, dialect, PreparedSelect))


def prepared_write(statement: Update, dialect: Dialect) -> PreparedWrite:
    """As `prepared`, for a statement that returns no rows."""
    return _once(statement, dialect, PreparedWrite)


def _once(statement: Any, dialect: Dialect, kind: type[PreparedWrite]) -> PreparedWrite:
    key = (statement, dialect.name, dialect.driver)
    found = _PREPARED.get(key)
    if found is None:
        with _MADE:
            found = _PREPARED.setdefault(key, kind(statement, dialect))
    return found
