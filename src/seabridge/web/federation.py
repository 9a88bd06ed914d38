"""The federation endpoints: what a peer node may call (``domain/hotline-protocol.md`` §5.6).

::

    POST /v1/push                                     push body -> {"cosignature", "size"}
    GET  /v1/logs/{origin}/checkpoint                 {"checkpoint": note, "cosignatures": [...]}
    GET  /v1/logs/{origin}/entries?start=&end=        {"start", "entries": [{"entry", "sig"}]}
    GET  /v1/logs/{origin}/proof/inclusion?index=&size=    {"proof": [base64 hash, ...]}
    GET  /v1/logs/{origin}/proof/consistency?old=&new=     {"proof": [base64 hash, ...]}

Errors are JSON ``{"error": kind, "detail": message}``:

===========================  ======  =====================================================
ledger error                 status  meaning for the sender
===========================  ======  =====================================================
MalformedError               400     the body or a parameter does not parse: a bug, alarm
SignatureError               403     a signature does not verify (entry or checkpoint)
other VerificationError      422     a root, ``prev_root``, proof or ``msg_id`` is wrong
NoCheckpointError            404     ``no_checkpoint``: a known log, none signed yet
UnknownPeerError             404     the origin is not a log of this record
ConflictError                409     ``{"size": S}``: resend from S
EquivocationError            409     ``{"reason": ...}``: conflicting signed artefacts, kept
body over MAX_PUSH_BYTES     413
any other LedgerError        500     retried with backoff
===========================  ======  =====================================================

Only hotline log entries, checkpoints, cosignatures and proofs are served: no other route
exists (no OpenAPI or docs pages either). Mutual TLS gates access at the TLS layer; who the
caller is comes from the signatures (amendment 4). Handlers are ``async`` and call the
ledger directly: it is thread-safe and every call is one short SQLite transaction.
"""

from __future__ import annotations

import base64
import json
from typing import Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from seabridge.errors import (
    ConflictError,
    EquivocationError,
    LedgerError,
    MalformedError,
    NoCheckpointError,
    SignatureError,
    UnknownPeerError,
    VerificationError,
)
from seabridge.hotline.entries import MAX_ENTRY_BYTES
from seabridge.hotline.ledger import MAX_PULL, Ledger
from seabridge.hotline.push import MAX_BATCH

__all__ = ["MAX_PUSH_BYTES", "federation_app", "federation_router"]

MAX_PUSH_BYTES: Final = MAX_BATCH * (4 * -(-MAX_ENTRY_BYTES // 3) + 256) + 2**16
"""Largest push body read: a full batch of the largest entries (base64) plus the checkpoint
and proof fit (about 22 MiB); anything longer is refused with 413 before it is parsed."""

_MAX_PARAM_DIGITS: Final = 19  # 2**63 - 1 has 19 digits: sizes and indexes are int64


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _error(status: int, kind: str, detail: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": kind, "detail": detail, **extra}, status_code=status)


def ledger_error_response(exc: LedgerError) -> JSONResponse:
    """The HTTP answer to a ledger error (the table in the module docstring)."""
    if isinstance(exc, ConflictError):
        return _error(409, "conflict", str(exc), size=exc.size)
    if isinstance(exc, EquivocationError):
        return _error(409, "equivocation", str(exc), reason=str(exc))
    if isinstance(exc, NoCheckpointError):  # before its base class UnknownPeerError
        return _error(404, "no_checkpoint", str(exc))
    if isinstance(exc, UnknownPeerError):
        return _error(404, "unknown", str(exc))
    if isinstance(exc, MalformedError):
        return _error(400, "malformed", str(exc))
    if isinstance(exc, SignatureError):  # before its base class VerificationError
        return _error(403, "signature", str(exc))
    if isinstance(exc, VerificationError):
        return _error(422, "verification", str(exc))
    return _error(500, "ledger", str(exc))


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is (or announces to be) longer than ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _int_param(request: Request, name: str, default: int | None = None) -> int:
    """A non-negative integer query parameter.

    Raises:
        MalformedError: missing (without a default), or not a decimal of at most 19 digits.
    """
    text = request.query_params.get(name)
    if text is None:
        if default is None:
            raise MalformedError(f"query parameter {name!r} is required")
        return default
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_PARAM_DIGITS:
        raise MalformedError(f"query parameter {name}={text[:24]!r} is not a non-negative integer")
    return int(text)


def federation_router(ledger: Ledger, *, max_push_bytes: int = MAX_PUSH_BYTES) -> APIRouter:
    """The federation routes over ``ledger`` (see the module docstring)."""
    router = APIRouter()

    @router.post("/v1/push")
    async def push(request: Request) -> JSONResponse:
        raw = await _read_body(request, max_push_bytes)
        if raw is None:
            return _error(413, "too-large", f"push body is longer than {max_push_bytes} bytes")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return _error(400, "malformed", "push body is not JSON")
        try:
            return JSONResponse(ledger.receive_push(body))
        except LedgerError as exc:
            return ledger_error_response(exc)

    @router.get("/v1/logs/{origin:path}/checkpoint")
    async def checkpoint(origin: str) -> JSONResponse:
        try:
            note, cosignatures = ledger.checkpoint(origin)
        except LedgerError as exc:
            return ledger_error_response(exc)
        return JSONResponse({"checkpoint": note, "cosignatures": cosignatures})

    @router.get("/v1/logs/{origin:path}/entries")
    async def entries(origin: str, request: Request) -> JSONResponse:
        try:
            start = _int_param(request, "start")
            end = _int_param(request, "end", start + MAX_PULL)
            rows = ledger.entries(origin, start, end)
        except LedgerError as exc:
            return ledger_error_response(exc)
        items = [{"entry": _b64(entry), "sig": _b64(sig)} for entry, sig in rows]
        return JSONResponse({"start": start, "entries": items})

    @router.get("/v1/logs/{origin:path}/proof/inclusion")
    async def inclusion(origin: str, request: Request) -> JSONResponse:
        try:
            index, size = _int_param(request, "index"), _int_param(request, "size")
            proof = ledger.inclusion_proof(origin, index, size)
        except LedgerError as exc:
            return ledger_error_response(exc)
        return JSONResponse({"proof": [_b64(h) for h in proof]})

    @router.get("/v1/logs/{origin:path}/proof/consistency")
    async def consistency(origin: str, request: Request) -> JSONResponse:
        try:
            old, new = _int_param(request, "old"), _int_param(request, "new")
            proof = ledger.consistency_proof(origin, old, new)
        except LedgerError as exc:
            return ledger_error_response(exc)
        return JSONResponse({"proof": [_b64(h) for h in proof]})

    return router


def federation_app(ledger: Ledger, *, max_push_bytes: int = MAX_PUSH_BYTES) -> FastAPI:
    """The federation listener's app: the federation routes and nothing else."""
    app = FastAPI(title="Seabridge federation", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(federation_router(ledger, max_push_bytes=max_push_bytes))
    return app
