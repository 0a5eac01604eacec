"""Structured JSON logs that carry the service name, request id, correlation id, and the trace
and span ids of the span current when the record was made."""

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from shared.context import correlation_id_var, request_id_var
from shared.tracing import current_ids


class _ContextFilter(logging.Filter):
    def __init__(self, service_name: str) -> None:
        super().__init__()
        self._service_name = service_name

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self._service_name
        record.request_id = request_id_var.get()
        record.correlation_id = correlation_id_var.get()
        record.trace_id, record.span_id = current_ids()
        return True


def configure_logging(*, service_name: str, level: str = "INFO") -> None:
    """Send every log record, ours and the libraries', to stdout as one JSON object per line."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_ContextFilter(service_name))
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s %(correlation_id)s"
            " %(trace_id)s %(span_id)s",
            rename_fields={"asctime": "timestamp", "levelname": "level", "name": "logger"},
            timestamp=False,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for uvicorn_logger in ("uvicorn", "uvicorn.error"):
        logging.getLogger(uvicorn_logger).handlers[:] = []
        logging.getLogger(uvicorn_logger).propagate = True
