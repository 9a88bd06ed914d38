"""The federation endpoints (§5.6): status codes of every error, and only log data served.

Two ledgers (jcg sends, ccg serves) in temporary directories on one ManualClock; requests go
through the ASGI app in process (``httpx.ASGITransport``), no sockets.
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import seabridge.hotline.ledger as ledger_module
from seabridge.clock import ManualClock
from seabridge.errors import SignatureError, VerificationError
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE, SigningKey
from seabridge.hotline.ledger import Ledger
from seabridge.hotline.merkle import leaf_hash, verify_consistency, verify_inclusion
from seabridge.hotline.notes import Checkpoint, sign_checkpoint
from seabridge.web import MAX_PUSH_BYTES, federation_app, federation_router
from seabridge.web.federation import ledger_error_response

START_MS = 1_790_000_000_000
BODY = {"text": "Vessel sighted", "text_en": "Vessel sighted", "marker": "INFORMATION"}


@dataclass
class Pair:
    jcg: Ledger
    ccg: Ledger
    keys: dict[str, tuple[SigningKey, SigningKey]]
    clock: ManualClock
    root: Path

    def open(self, party: str, folder: str) -> Ledger:
        """Another ledger of ``party`` with the same keys (an equivocating twin)."""
        other = "ccg" if party == "jcg" else "jcg"
        log, cosigner = self.keys[other]
        path = self.root / folder / "state.sqlite"
        path.parent.mkdir()
        peers = {other: (log.verifier, cosigner.verifier)}
        return Ledger(path, party, *self.keys[party], peers, self.clock, rng=random.Random(0))


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    keys = {
        party: (
            SigningKey.generate(f"{party}/hotline", KEY_TYPE_NOTE),
            SigningKey.generate(f"{party}/hotline/cosigner", KEY_TYPE_COSIGNATURE),
        )
        for party in ("jcg", "ccg")
    }
    made = Pair(None, None, keys, ManualClock(START_MS), tmp_path)  # type: ignore[arg-type]
    made.jcg, made.ccg = made.open("jcg", "jcg"), made.open("ccg", "ccg")
    try:
        yield made
    finally:
        made.jcg.close()
        made.ccg.close()


class TestClient:
    """A synchronous face over ``httpx.AsyncClient(transport=ASGITransport(app))``."""

    __test__ = False

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="https://ccg.test") as c:
                return await c.request(method, url, **options)

        return asyncio.run(call())

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> httpx.Response:
        return self.request("POST", url, **options)


@pytest.fixture
def client(pair: Pair) -> TestClient:
    """The ccg node's federation app."""
    return TestClient(federation_app(pair.ccg))


def _push(pair: Pair) -> dict[str, Any]:
    body = pair.jcg.push_request("ccg")
    assert body is not None
    return body


def _flip(b64: str, byte: int = 0) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[byte] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


# --- POST /v1/push ------------------------------------------------------------------------


def test_push_is_cosigned_and_a_replay_gets_the_same_receipt(
    pair: Pair, client: TestClient
) -> None:
    pair.jcg.send("ccg", "notification", BODY)
    body = _push(pair)
    first = client.post("/v1/push", json=body)
    assert first.status_code == 200
    assert first.json()["size"] == 1
    pair.jcg.accept_response("ccg", first.json())  # verifies the cosignature
    assert pair.jcg.delivery_state("ccg").acked_size == 1
    for _ in range(3):  # S8: replays store nothing and return the stored cosignature
        again = client.post("/v1/push", json=body)
        assert again.status_code == 200
        assert again.json() == first.json()
    assert pair.ccg.size("jcg/hotline/ccg") == 1


def test_push_not_following_on_is_409_with_the_stored_size(pair: Pair, client: TestClient) -> None:
    pair.jcg.send("ccg", "notification", BODY)
    assert client.post("/v1/push", json=_push(pair)).status_code == 200
    pair.jcg.send("ccg", "notification", BODY)
    pair.jcg.accept_conflict("ccg", 0)  # the sender believes the peer has nothing
    answer = client.post("/v1/push", json=_push(pair))
    assert answer.status_code == 409
    assert answer.json()["size"] == 1
    assert answer.json()["error"] == "conflict"


def test_unknown_origin_is_404(pair: Pair, client: TestClient) -> None:
    pair.jcg.send("ccg", "notification", BODY)
    body = _push(pair)
    body["origin"] = "xcg/hotline/ccg"
    answer = client.post("/v1/push", json=body)
    assert answer.status_code == 404
    assert answer.json()["error"] == "unknown"


def test_a_known_log_with_no_checkpoint_yet_is_404_no_checkpoint(client: TestClient) -> None:
    # Nothing was pushed: the receiver knows jcg's log but stores no checkpoint of it.
    answer = client.get("/v1/logs/jcg/hotline/ccg/checkpoint")
    assert answer.status_code == 404
    assert answer.json() == {
        "error": "no_checkpoint",
        "detail": "no checkpoint of jcg/hotline/ccg is stored yet",
    }
    assert client.get("/v1/logs/xcg/hotline/ccg/checkpoint").json()["error"] == "unknown"


@pytest.mark.parametrize("target", ["entry-sig", "checkpoint-sig"])
def test_a_signature_that_does_not_verify_is_403(
    pair: Pair, client: TestClient, target: str
) -> None:
    pair.jcg.send("ccg", "notification", BODY)
    body = _push(pair)
    if target == "entry-sig":
        body["entries"][0]["sig"] = _flip(body["entries"][0]["sig"])
    else:
        text, _, signature = body["checkpoint"].rpartition(" ")
        body["checkpoint"] = f"{text} {_flip(signature.strip(), 10)}\n"
    answer = client.post("/v1/push", json=body)
    assert answer.status_code == 403, answer.json()
    assert pair.ccg.size("jcg/hotline/ccg") == 0


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (SignatureError("no key is valid at seq 7"), 403),
        (SignatureError("root"), 403),
        (VerificationError("signature by x does not verify"), 422),
        (VerificationError("prev_root is not the root"), 422),
    ],
    ids=["signature", "signature-terse", "verification-saying-signature", "verification"],
)
def test_the_error_type_not_its_message_decides_403_or_422(
    error: VerificationError, status: int
) -> None:
    answer = ledger_error_response(error)
    assert answer.status_code == status
    kind = "signature" if status == 403 else "verification"
    assert answer.body == f'{{"error":"{kind}","detail":"{error}"}}'.encode()


def test_a_wrong_root_or_proof_is_422(pair: Pair, client: TestClient) -> None:
    log_key = pair.keys["jcg"][0]
    pair.jcg.send("ccg", "notification", BODY)
    body = _push(pair)
    wrong = Checkpoint("jcg/hotline/ccg", 1, bytes(32))  # signed by the author, wrong root
    answer = client.post("/v1/push", json={**body, "checkpoint": sign_checkpoint(wrong, log_key)})
    assert answer.status_code == 422, answer.json()
    assert client.post("/v1/push", json=body).status_code == 200
    pair.jcg.accept_response("ccg", client.post("/v1/push", json=body).json())
    pair.jcg.send("ccg", "notification", BODY)
    pair.jcg.send("ccg", "notification", BODY)
    body = _push(pair)
    assert body["old_size"] == 1 and body["proof"]
    body["proof"][0] = _flip(body["proof"][0])
    answer = client.post("/v1/push", json=body)
    assert answer.status_code == 422, answer.json()
    assert pair.ccg.size("jcg/hotline/ccg") == 1


@pytest.mark.parametrize(
    "content",
    [b"not json", b"[1, 2]", b'{"origin": "jcg/hotline/ccg"}', b'{"a": ' * 100_000],
    ids=["not-json", "array", "missing-fields", "deep"],
)
def test_malformed_push_is_400(client: TestClient, content: bytes) -> None:
    answer = client.post("/v1/push", content=content)
    assert answer.status_code == 400
    assert answer.json()["error"] == "malformed"


def test_equivocation_is_409_with_a_reason_and_kept(pair: Pair, client: TestClient) -> None:
    pair.jcg.send("ccg", "notification", BODY)
    assert client.post("/v1/push", json=_push(pair)).status_code == 200
    twin = pair.open("jcg", "jcg-twin")  # the same author signs another seq 0
    try:
        twin.send("ccg", "notification", {**BODY, "text": "Nothing happened"})
        body = twin.push_request("ccg")
        answer = client.post("/v1/push", json=body)
    finally:
        twin.close()
    assert answer.status_code == 409
    assert answer.json()["error"] == "equivocation"
    assert "evidence" in answer.json()["reason"]
    assert "size" not in answer.json()
    assert [row["kind"] for row in pair.ccg.evidence()] == ["entry-conflict"]


def test_push_body_over_the_limit_is_413(pair: Pair) -> None:
    assert MAX_PUSH_BYTES > 256 * 65_536  # a full batch of the largest entries fits
    pair.jcg.send("ccg", "notification", BODY)
    small = TestClient(federation_app(pair.ccg, max_push_bytes=200))
    assert small.post("/v1/push", json=_push(pair)).status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        yield b"{" * 150
        yield b"}" * 150

    assert small.post("/v1/push", content=chunks()).status_code == 413
    assert pair.ccg.size("jcg/hotline/ccg") == 0


# --- pull endpoints -----------------------------------------------------------------------


def _three_delivered(pair: Pair, client: TestClient) -> None:
    for i in range(3):
        pair.jcg.send("ccg", "notification", {**BODY, "text": f"message {i}"})
    pair.jcg.accept_response("ccg", client.post("/v1/push", json=_push(pair)).json())


def test_checkpoint_serves_the_note_and_the_cosignatures(pair: Pair, client: TestClient) -> None:
    _three_delivered(pair, client)
    mirror = client.get("/v1/logs/jcg/hotline/ccg/checkpoint")
    assert mirror.status_code == 200
    assert set(mirror.json()) == {"checkpoint", "cosignatures"}
    assert mirror.json()["checkpoint"].startswith("jcg/hotline/ccg\n3\n")
    assert len(mirror.json()["cosignatures"]) == 1
    own = client.get("/v1/logs/ccg/hotline/jcg/checkpoint")
    assert own.json()["checkpoint"].startswith("ccg/hotline/jcg\n0\n")


def test_entries_are_the_stored_bytes_in_bounded_pages(
    pair: Pair, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three_delivered(pair, client)
    stored = pair.jcg.entries("jcg/hotline/ccg", 0, 3)
    page = client.get("/v1/logs/jcg/hotline/ccg/entries", params={"start": 1, "end": 3}).json()
    assert page["start"] == 1
    assert [
        (base64.b64decode(e["entry"]), base64.b64decode(e["sig"])) for e in page["entries"]
    ] == (stored[1:])
    monkeypatch.setattr(ledger_module, "MAX_PULL", 2)
    page = client.get("/v1/logs/jcg/hotline/ccg/entries", params={"start": 0, "end": 99}).json()
    assert len(page["entries"]) == 2
    past = client.get("/v1/logs/jcg/hotline/ccg/entries", params={"start": 3}).json()
    assert past["entries"] == []


def test_proofs_verify(pair: Pair, client: TestClient) -> None:
    _three_delivered(pair, client)
    origin = "jcg/hotline/ccg"
    leaves = [leaf_hash(entry) for entry, _ in pair.jcg.entries(origin, 0, 3)]
    proof = client.get(f"/v1/logs/{origin}/proof/inclusion", params={"index": 1, "size": 3})
    assert proof.status_code == 200
    hashes = [base64.b64decode(h) for h in proof.json()["proof"]]
    head = Checkpoint.parse(pair.jcg.checkpoint(origin)[0].split("\n\n")[0] + "\n")
    verify_inclusion(1, 3, leaves[1], hashes, head.root)
    consistency = client.get(f"/v1/logs/{origin}/proof/consistency", params={"old": 1, "new": 3})
    hashes = [base64.b64decode(h) for h in consistency.json()["proof"]]
    verify_consistency(1, 3, leaves[0], head.root, hashes)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("entries", {}),
        ("entries", {"start": "-1"}),
        ("entries", {"start": "x"}),
        ("entries", {"start": "5", "end": "2"}),
        ("entries", {"start": "9" * 40}),
        ("proof/inclusion", {"index": "3", "size": "3"}),
        ("proof/inclusion", {"index": "0", "size": "9"}),
        ("proof/inclusion", {"index": "0"}),
        ("proof/consistency", {"old": "0", "new": "3"}),
        ("proof/consistency", {"old": "2", "new": "9"}),
    ],
)
def test_bad_pull_parameters_are_400(
    pair: Pair, client: TestClient, path: str, params: dict[str, str]
) -> None:
    _three_delivered(pair, client)
    answer = client.get(f"/v1/logs/jcg/hotline/ccg/{path}", params=params)
    assert answer.status_code == 400, answer.json()
    assert answer.json()["error"] == "malformed"


@pytest.mark.parametrize(
    "origin", ["xcg/hotline/ccg", "../../state.sqlite", "jcg", "jcg/hotline/ccg/extra"]
)
@pytest.mark.parametrize(
    "path", ["checkpoint", "entries?start=0", "proof/inclusion?index=0&size=1"]
)
def test_unknown_origins_are_404(client: TestClient, origin: str, path: str) -> None:
    assert client.get(f"/v1/logs/{origin}/{path}").status_code == 404


def test_only_log_data_is_served(pair: Pair, client: TestClient) -> None:
    paths = sorted(getattr(route, "path", "") for route in federation_router(pair.ccg).routes)
    assert paths == [
        "/v1/logs/{origin:path}/checkpoint",
        "/v1/logs/{origin:path}/entries",
        "/v1/logs/{origin:path}/proof/consistency",
        "/v1/logs/{origin:path}/proof/inclusion",
        "/v1/push",
    ]
    for path in ("/openapi.json", "/docs", "/redoc", "/", "/v1/logs", "/v1/evidence"):
        assert client.get(path).status_code == 404
    assert client.get("/v1/push").status_code == 405
    assert client.post("/v1/logs/jcg/hotline/ccg/checkpoint").status_code == 405
