from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.exports import service
from services.analytics.exports.schemas import ExportFormat
from services.analytics.exports.service import REPORTS
from shared.auth import require_role
from shared.deps import get_session
from shared.errors import InvalidInput
from shared.identity import Identity

router = APIRouter(prefix="/analytics", tags=["Analytics"])

Admin = Annotated[Identity, Depends(require_role("admin"))]
# Closed once the response has been sent (FastAPI's "request" scope), not when the route
# returns: the rows are read from it while the body streams.
StreamingSession = Annotated[AsyncSession, Depends(get_session, scope="request")]

CSV_MEDIA_TYPE = "text/csv"


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The report as CSV (UTF-8): a header row of the report's column names, then its rows.",
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "headers": {
                "Content-Disposition": {
                    "description": "attachment; filename=<report>_<from>_<to>.csv",
                    "schema": {"type": "string"},
                }
            },
        }
    },
    openapi_extra={"parameters": REPORTS.openapi_parameters()},
)
async def export_report(
    viewer: Admin,
    session: StreamingSession,
    request: Request,
    report: Annotated[str, Query(json_schema_extra={"enum": REPORTS.names})],
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    written_as: Annotated[ExportFormat, Query(alias="format")] = "csv",
) -> StreamingResponse:
    """A report of the UTC days [from, to] as a CSV file, streamed as its rows are read; the
    report's own options (`group_by` for revenue) as for its JSON report."""
    if end < start:
        raise InvalidInput("`to` is before `from`.", details={"from": str(start), "to": str(end)})
    exported = service.export(
        session,
        registry=REPORTS,
        viewer=viewer,
        report=report,
        written_as=written_as,
        start=start,
        end=end,
        query=request.query_params,
    )
    return StreamingResponse(
        exported.chunks,
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
    )
