"""A report as CSV: a header row of stable column names, then one line per row, written a few
rows at a time so that a report of any length is never held whole.

Cells are written as a spreadsheet should read them back: money as a plain decimal with the
digits the report gave it (its currency's: `12.50`, `1500`, `3.125`), never in exponent form;
dates and times in ISO 8601; ids as text; nothing as an empty cell. A text cell a spreadsheet
would run as a formula (one starting with `=`, `+`, `-`, `@`, a tab or a carriage return: a
listing's title such as `=HYPERLINK(...)`) gets a leading apostrophe, as OWASP advises, so it is
shown as the text it is. Numbers are not text: `-12.50` stays a number."""

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

Cell = str | int | float | Decimal | date | datetime | UUID | bool | None

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Rows written to one chunk of the response.
ROWS_PER_CHUNK = 500


def cell_text(cell: Cell) -> str:
    """What a cell reads as in the file."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, Decimal):
        return format(cell, "f")
    if isinstance(cell, int | float | UUID):
        return str(cell)
    if isinstance(cell, date):  # a datetime is a date too
        return cell.isoformat()
    if isinstance(cell, str):
        return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell
    raise TypeError(f"a {type(cell).__name__} is not a cell a report can export")


def _lines(rows: Sequence[Sequence[Cell]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([cell_text(cell) for cell in row] for row in rows)
    return buffer.getvalue()


async def csv_chunks(
    columns: Sequence[str], rows: AsyncIterable[Sequence[Cell]], *, rows_per_chunk: int = ROWS_PER_CHUNK
) -> AsyncIterator[str]:
    """The header alone first (before any row is asked for), then the rows `rows_per_chunk` at a
    time as they come: at most one chunk of rows is held at once."""
    yield _lines([list(columns)])
    pending: list[Sequence[Cell]] = []
    async for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"a row of {len(row)} cells under {len(columns)} columns")
        pending.append(row)
        if len(pending) >= rows_per_chunk:
            yield _lines(pending)
            pending = []
    if pending:
        yield _lines(pending)
