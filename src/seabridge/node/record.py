"""The joint record of a node at a glance, and its verification against the node's keys.

:func:`record_summary` answers "what do the logs hold and is delivery healthy": each log's
size, Merkle root and last cosignature, each channel's push cursor and backoff, and the
operator alarms. :func:`verify_node` re-derives the whole record from its bytes and the
node's configured public keys (what ``seabridge ledger verify --node`` does). Both only read;
this module never imports the web layer or the CLI.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from seabridge.errors import UnknownPeerError
from seabridge.hotline.entries import format_timestamp
from seabridge.hotline.evidence import parse_evidence
from seabridge.hotline.keys import Verifier, parse_vkey
from seabridge.hotline.ledger import Ledger
from seabridge.hotline.verify import Report, verify_evidence
from seabridge.node.directory import NodeConfig

__all__ = ["record_summary", "trusted_keys", "verify_node"]


def _iso(ms: int | None) -> str | None:
    return None if ms is None else format_timestamp(ms)


def _log(ledger: Ledger, origin: str, last_cosignature_ms: int | None) -> dict[str, Any]:
    root = None
    with contextlib.suppress(UnknownPeerError):  # no checkpoint of a mirror stored yet
        lines = ledger.checkpoint(origin)[0].split("\n")  # origin, size, base64 root, ...
        root = lines[2] if len(lines) > 2 else None
    return {
        "origin": origin,
        "size": ledger.size(origin),
        "root": root,
        "last_cosignature": _iso(last_cosignature_ms),
    }


def record_summary(
    ledger: Ledger, now_ms: int, heartbeat_s: float, alarms: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``{"logs", "delivery", "alarms"}`` of every channel.

    ``logs``: ``{origin, size, root (base64; None before a checkpoint), last_cosignature}``
    of the own log of each
    channel (``last_cosignature``: when the peer last cosigned it, ISO, or None) and of each
    configured peer's mirror (``last_cosignature`` None: we cosign those). ``delivery``:
    ``{peer, acked_size, next_attempt, attempts, last_error, delivered_via}``. ``alarms``:
    ``{peer, alarm}``, from ``alarms`` (the running delivery loop's) when given, else from the
    ledger at ``now_ms`` with ``heartbeat_s``.
    """
    logs: list[dict[str, Any]] = []
    delivery: list[dict[str, Any]] = []
    found: dict[str, str] = dict(alarms or {})
    for peer in ledger.channels:
        configured = peer in ledger.peers
        logs.append(
            _log(
                ledger,
                ledger.own_origin(peer),
                ledger.last_cosignature_ms(peer) if configured else None,
            )
        )
        if configured:
            logs.append(_log(ledger, ledger.mirror_origin(peer), None))
            if alarms is None:
                text = ledger.alarm(peer, now_ms, heartbeat_s)
                if text is not None:
                    found[peer] = text
        state = ledger.delivery_state(peer)
        delivery.append(
            {
                "peer": peer,
                "configured": configured,
                "acked_size": state.acked_size,
                "next_attempt": _iso(state.next_attempt_ms),
                "attempts": state.attempts,
                "last_error": state.last_error,
                "delivered_via": state.delivered_via,
            }
        )
    return {
        "logs": logs,
        "delivery": delivery,
        "alarms": [{"peer": peer, "alarm": text} for peer, text in sorted(found.items())],
    }


def trusted_keys(node: NodeConfig) -> list[Verifier]:
    """The node's configured keys: its own (current and retired) and its peers' vkeys."""
    keys = [node.log_key(), node.cosigner_key(), *node.retired_keys("log")]
    keys += node.retired_keys("cosigner")
    trusted = [key.verifier for key in keys]
    for peer in node.peers:
        trusted += [parse_vkey(peer.log_vkey), parse_vkey(peer.cosigner_vkey)]
    return trusted


def verify_node(node: NodeConfig, ledger: Ledger) -> Report:
    """Verify the node's whole record (its evidence export) against :func:`trusted_keys`.

    Raises:
        LedgerError: the export does not parse (a damaged database).
    """
    return verify_evidence(parse_evidence(ledger.export_evidence()), trusted_keys(node))
