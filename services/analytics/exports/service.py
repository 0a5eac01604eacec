"""Every report as a file: `GET /analytics/export?report=&format=csv&from=&to=` plus the
report's own options, streamed from the report's rows as they come off the database.

A report is exported once it is registered in `REPORTS` with an `ExportReport`: its name, its
columns (stable: the names of its JSON report's fields), the async iterator of its rows (called
with the session, the viewer, the UTC days [start, end] and its options) and the Pydantic model
of its options, read from the query string. For a report whose rows are Pydantic models (the
items of its JSON report), `ExportReport.of_models` takes the columns from the model:

    ExportReport.of_models("revenue", RevenueGroup, _revenue, RevenueOptions)

The rows should come from the same query as the JSON report, through a server-side cursor
(`session.stream(query.execution_options(yield_per=...))`), so a year of data is never held."""

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, Protocol, TypeVar, cast

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.exports.domain import Cell, csv_chunks
from services.analytics.exports.schemas import (
    CancellationOptions,
    ConversionOptions,
    ExportFormat,
    OccupancyOptions,
    PopularOptions,
    RevenueOptions,
)
from services.analytics.funnel.service import CONVERSION_COLUMNS, conversion_rows
from services.analytics.occupancy.service import OCCUPANCY_COLUMNS, occupancy_rows
from services.analytics.outcomes.service import CANCELLATION_COLUMNS, cancellation_rows
from services.analytics.popular.service import POPULAR_COLUMNS, popular_rows
from services.analytics.revenue.schemas import RevenueGroup
from services.analytics.revenue.service import revenue_rows
from shared.errors import InvalidInput
from shared.identity import Identity

Options = TypeVar("Options", bound=BaseModel)
Options_contra = TypeVar("Options_contra", bound=BaseModel, contravariant=True)
Row_co = TypeVar("Row_co", covariant=True)

# The query parameters of every export: the report's own options are the others.
COMMON_PARAMETERS = frozenset({"report", "format", "from", "to"})


class RowSource(Protocol[Options_contra, Row_co]):
    """A report's rows for the viewer over the UTC days [start, end], as they come."""

    def __call__(
        self, session: AsyncSession, *, viewer: Identity, start: date, end: date, options: Options_contra
    ) -> AsyncIterator[Row_co]: ...


@dataclass(frozen=True)
class ExportReport(Generic[Options]):
    name: str
    columns: tuple[str, ...]
    rows: RowSource[Options, Sequence[Cell]]
    options: type[Options]

    @classmethod
    def of_models(
        cls, name: str, model: type[BaseModel], rows: RowSource[Options, BaseModel], options: type[Options]
    ) -> "ExportReport[Options]":
        """A report whose rows are Pydantic models: a column per field of `model`, in order."""
        columns = tuple(model.model_fields)

        async def cells(
            session: AsyncSession, *, viewer: Identity, start: date, end: date, options: Options
        ) -> AsyncIterator[Sequence[Cell]]:
            async for item in rows(session, viewer=viewer, start=start, end=end, options=options):
                yield tuple(getattr(item, column) for column in columns)

        return cls(name=name, columns=columns, rows=cells, options=options)

    @classmethod
    def of_mappings(
        cls,
        name: str,
        columns: Sequence[str],
        rows: RowSource[Options, Mapping[str, object]],
        options: type[Options],
    ) -> "ExportReport[Options]":
        """A report whose rows are mappings of its columns (the other reports' `*_rows`)."""

        async def cells(
            session: AsyncSession, *, viewer: Identity, start: date, end: date, options: Options
        ) -> AsyncIterator[Sequence[Cell]]:
            async for row in rows(session, viewer=viewer, start=start, end=end, options=options):
                yield tuple(cast(Cell, row[column]) for column in columns)

        return cls(name=name, columns=tuple(columns), rows=cells, options=options)

    def read_options(self, query: Mapping[str, str]) -> Options:
        """The report's options from the query string (others are not its business)."""
        given = {name: value for name, value in query.items() if name in self.options.model_fields}
        try:
            return self.options.model_validate(given)
        except ValidationError as error:
            raise InvalidInput(
                f"The options of the {self.name} report are not valid.",
                details={"errors": error.errors(include_url=False, include_context=False, include_input=False)},
            ) from None


@dataclass(frozen=True)
class ExportRegistry:
    reports: dict[str, ExportReport[Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, *reports: ExportReport[Any]) -> "ExportRegistry":
        registry = cls()
        for report in reports:
            registry.register(report)
        return registry

    def register(self, report: ExportReport[Any]) -> None:
        if report.name in self.reports:
            raise ValueError(f"two exports are named {report.name!r}")
        clashing = COMMON_PARAMETERS & set(report.options.model_fields)
        if clashing:
            raise ValueError(f"the {report.name} report's options {sorted(clashing)} are the export's own parameters")
        if "$defs" in report.options.model_json_schema():
            raise ValueError(f"the {report.name} report's options must be flat (no nested models or enums)")
        self.reports[report.name] = report

    @property
    def names(self) -> list[str]:
        return sorted(self.reports)

    def find(self, name: str) -> ExportReport[Any]:
        report = self.reports.get(name)
        if report is None:
            raise InvalidInput(
                f"There is no report {name!r} to export.", details={"report": name, "reports": self.names}
            )
        return report

    def openapi_parameters(self) -> list[dict[str, Any]]:
        """The reports' options as query parameters of the export (a name two reports share
        takes either's schema)."""
        schemas: dict[str, list[dict[str, Any]]] = {}
        owners: dict[str, list[str]] = {}
        for name in self.names:
            properties = self.reports[name].options.model_json_schema().get("properties", {})
            for option, schema in properties.items():
                schema = {key: value for key, value in schema.items() if key != "title"}
                if schema not in schemas.setdefault(option, []):
                    schemas[option].append(schema)
                owners.setdefault(option, []).append(name)
        return [
            {
                "name": option,
                "in": "query",
                "required": False,
                "description": f"An option of the {', '.join(owners[option])} report(s); others ignore it.",
                "schema": found[0] if len(found) == 1 else {"anyOf": found},
            }
            for option, found in sorted(schemas.items())
        ]


@dataclass(frozen=True)
class Export:
    filename: str
    chunks: AsyncIterator[str]


def export(
    session: AsyncSession,
    *,
    registry: ExportRegistry,
    viewer: Identity,
    report: str,
    written_as: ExportFormat,
    start: date,
    end: date,
    query: Mapping[str, str],
) -> Export:
    """The report as chunks of CSV (the one format), for a response to stream: the report and its options are
    checked now (a 422 before anything is sent); the rows are read as the chunks are asked for."""
    found = registry.find(report)
    options = found.read_options(query)
    rows = found.rows(session, viewer=viewer, start=start, end=end, options=options)
    return Export(filename=f"{found.name}_{start}_{end}.{written_as}", chunks=csv_chunks(found.columns, rows))


def _revenue(
    session: AsyncSession, *, viewer: Identity, start: date, end: date, options: RevenueOptions
) -> AsyncIterator[RevenueGroup]:
    return revenue_rows(session, viewer=viewer, start=start, end=end, group_by=options.group_by)


def _conversion(
    session: AsyncSession, *, viewer: Identity, start: date, end: date, options: ConversionOptions
) -> AsyncIterator[Mapping[str, object]]:
    return conversion_rows(session, viewer=viewer, start=start, end=end, **options.model_dump())


def _popular(
    session: AsyncSession, *, viewer: Identity, start: date, end: date, options: PopularOptions
) -> AsyncIterator[Mapping[str, object]]:
    return popular_rows(session, viewer=viewer, start=start, end=end, **options.model_dump())


def _occupancy(
    session: AsyncSession, *, viewer: Identity, start: date, end: date, options: OccupancyOptions
) -> AsyncIterator[Mapping[str, object]]:
    return occupancy_rows(session, viewer=viewer, start=start, end=end, **options.model_dump())


def _cancellations(
    session: AsyncSession, *, viewer: Identity, start: date, end: date, options: CancellationOptions
) -> AsyncIterator[Mapping[str, object]]:
    return cancellation_rows(session, viewer=viewer, start=start, end=end, **options.model_dump())


# The reports that can be exported: one line each.
REPORTS = ExportRegistry.of(
    ExportReport.of_models("revenue", RevenueGroup, _revenue, RevenueOptions),
    ExportReport.of_mappings("conversion", CONVERSION_COLUMNS, _conversion, ConversionOptions),
    ExportReport.of_mappings("popular", POPULAR_COLUMNS, _popular, PopularOptions),
    ExportReport.of_mappings("occupancy", OCCUPANCY_COLUMNS, _occupancy, OccupancyOptions),
    ExportReport.of_mappings("cancellations", CANCELLATION_COLUMNS, _cancellations, CancellationOptions),
)
