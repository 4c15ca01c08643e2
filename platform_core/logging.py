"""Structured logs: one JSON object per line, carrying request id and tenant schema."""

import json
import logging
from datetime import UTC, datetime

from django.db import connection

from platform_core.context import current_request_id


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        try:
            record.schema = getattr(connection, "schema_name", None)
        except Exception:  # connection not configured (early start-up)
            record.schema = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "schema": getattr(record, "schema", None),
        }
        for key in ("status", "method", "path", "duration_ms", "job_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
