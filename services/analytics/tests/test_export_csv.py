"""A report as CSV: the header comes first, before any row is read; rows are read a chunk at a
time, never all at once; money keeps its currency's digits in plain decimal; a text cell a
spreadsheet would run as a formula is neutralised with a leading apostrophe, and every cell
reads back as written."""

import csv
import io
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.analytics.exports.domain import FORMULA_TRIGGERS, Cell, cell_text, csv_chunks

COLUMNS = ("group", "currency", "gmv")


class CountedRows:
    """`total` rows made one at a time as they are asked for, counting how many were."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[Sequence[Cell]]:
        for index in range(self.total):
            self.read += 1
            yield (f"2031-06-{index % 28 + 1:02d}", "EUR", Decimal(index) / 100)


def _parsed(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


async def test_the_header_comes_before_any_row_is_read_and_rows_are_read_a_chunk_at_a_time() -> None:
    rows = CountedRows(10_000)
    chunks = csv_chunks(COLUMNS, rows, rows_per_chunk=100)

    header = await anext(chunks)
    assert (_parsed(header), rows.read) == ([list(COLUMNS)], 0)
    first_rows = await anext(chunks)
    # A writer that gathered the rows first would have read all 10,000 by now.
    assert (len(_parsed(first_rows)), rows.read) == (100, 100)

    rest = [chunk async for chunk in chunks]
    assert rows.read == 10_000
    assert len(_parsed(first_rows + "".join(rest))) == 10_000


async def test_a_report_without_rows_is_its_header_alone() -> None:
    chunks = [chunk async for chunk in csv_chunks(COLUMNS, CountedRows(0))]
    assert "".join(chunks) == "group,currency,gmv\r\n"


@pytest.mark.parametrize(
    ("amount", "written"),
    [
        (Decimal("12.50"), "12.50"),
        (Decimal("1500"), "1500"),
        (Decimal("3.125"), "3.125"),
        (Decimal("-12.50"), "-12.50"),  # a number, not a formula
        (Decimal("1E+3"), "1000"),
        (Decimal("0.00"), "0.00"),
    ],
)
def test_money_is_a_plain_decimal_with_the_digits_it_was_given(amount: Decimal, written: str) -> None:
    assert cell_text(amount) == written


def test_other_cells_read_as_iso_dates_ids_and_empty_for_nothing() -> None:
    moment = datetime(2031, 6, 2, 9, 30, tzinfo=UTC)
    some_id = uuid.uuid4()
    assert [cell_text(cell) for cell in (None, 7, 0.25, True, date(2031, 6, 2), moment, some_id)] == [
        "",
        "7",
        "0.25",
        "true",
        "2031-06-02",
        "2031-06-02T09:30:00+00:00",
        str(some_id),
    ]


@pytest.mark.parametrize("title", ['=HYPERLINK("http://x")', "+1", "-1+1", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_a_title_a_spreadsheet_would_run_as_a_formula_gets_a_leading_apostrophe(title: str) -> None:
    assert cell_text(title) == "'" + title


@given(st.text())
async def test_every_text_cell_reads_back_as_written_and_none_starts_a_formula(title: str) -> None:
    written = cell_text(title)
    assert written == ("'" + title if title.startswith(FORMULA_TRIGGERS) else title)
    assert not written.startswith(FORMULA_TRIGGERS)

    async def rows() -> AsyncIterator[Sequence[Cell]]:
        yield ("x", title, Decimal("-1.50"))

    text = "".join([chunk async for chunk in csv_chunks(COLUMNS, rows())])
    assert _parsed(text) == [list(COLUMNS), ["x", written, "-1.50"]]


def test_a_value_that_is_no_cell_is_refused_rather_than_written_as_its_repr() -> None:
    with pytest.raises(TypeError, match="a list is not a cell"):
        cell_text(["tour", "meal"])  # type: ignore[arg-type]


async def test_a_row_that_does_not_fit_the_columns_is_refused() -> None:
    async def rows() -> AsyncIterator[Sequence[Cell]]:
        yield ("2031-06-01", "EUR")

    with pytest.raises(ValueError, match="2 cells under 3 columns"):
        _ = [chunk async for chunk in csv_chunks(COLUMNS, rows())]
