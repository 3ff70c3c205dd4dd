"""The documented flat error envelope, and the exception that carries it out of a handler."""

from __future__ import annotations

import json
from typing import Any

# Error ``type`` by HTTP status (DESIGN §2, precise rules).
TYPE_BY_STATUS: dict[int, str] = {
    400: "invalid_request",
    401: "unauthorized",
    402: "insufficient_balance",
    403: "forbidden",
    404: "not_found",
    405: "invalid_request",
    409: "conflict",
    413: "invalid_request",
    429: "rate_limited",
    501: "not_implemented",
}


def error_type(status: int) -> str:
    return TYPE_BY_STATUS.get(status, "api_error" if status >= 500 else "invalid_request")


class ApiError(Exception):
    """An answer in the error envelope; raised anywhere in a handler, rendered once."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def envelope(status: int, code: str, message: str, request_id: str) -> dict[str, Any]:
    return {
        "type": error_type(status),
        "code": code,
        "message": message,
        "request_id": request_id,
        "doc_url": None,
        "statusCode": status,
    }


def envelope_bytes(status: int, code: str, message: str, request_id: str) -> bytes:
    return json.dumps(envelope(status, code, message, request_id)).encode()


def invalid(field: str, problem: str) -> ApiError:
    """400 invalid_request whose message starts with the field it is about."""
    return ApiError(400, "invalid_request", f"{field}: {problem}")
