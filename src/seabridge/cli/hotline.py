"""``seabridge hotline send|log|ack|reply``, ``seabridge ledger verify|export|prove|verify-proof``
and ``seabridge node rotate-key``.

Thin commands over :mod:`seabridge.hotline`: the ledger stores and signs, the evidence module
exports and verifies, the pack's phrasebook renders texts. Sending only appends to the own log
(signed and committed at once), also to a party of the pack whose node is not added yet;
delivery is the running node's job (``seabridge serve``, once ``seabridge peer add`` is done).

Exit codes: 0 done (verify: consistent), 1 tampering or equivocation (verify) or a refusal by
the record, 2 usage or I/O error (bad option, unknown peer or template, unreadable or
malformed file). Wall time comes from :data:`CLOCK`, which tests replace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from rich.text import Text

from seabridge.cli._app import app, err, out, user_errors
from seabridge.cli.node import node_app
from seabridge.clock import Clock, SystemClock
from seabridge.errors import (
    InputError,
    LedgerError,
    MalformedError,
    UnknownPeerError,
    VerificationError,
)
from seabridge.units import iso_to_ms

if TYPE_CHECKING:  # the hotline, node and pack modules are imported when a command runs
    from seabridge.hotline.entries import Entry, Ref
    from seabridge.hotline.keys import Verifier
    from seabridge.hotline.ledger import Ledger
    from seabridge.hotline.verify import Report
    from seabridge.node import NodeConfig

__all__ = ["CLOCK", "hotline_app", "ledger_app", "parse_deadline"]

CLOCK: Clock = SystemClock()
"""Wall time of every command here (``created``, relative deadlines); tests replace it."""

hotline_app = typer.Typer(
    help="Hotline messages: send (signed and stored at once), list, acknowledge, reply.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
ledger_app = typer.Typer(
    help="The joint record: verify it, export the evidence file, prove one entry to a third party.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(hotline_app, name="hotline")
app.add_typer(ledger_app, name="ledger")

SEND_KINDS = ("notification", "note", "escalation")
_RELATIVE = re.compile(r"\+(\d+)([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# Options shared by send and reply.
NODE = typer.Option(..., "--node", metavar="DIR", help="The node directory.")
TO = typer.Option(..., "--to", metavar="PEER", help="The peer party (e.g. ccg).")
TEMPLATE = typer.Option(
    None, "--template", metavar="ID", help="A phrasebook template of the node's pack."
)
PARAM = typer.Option(
    [], "--param", metavar="K=V", help="A template parameter (repeat for each one)."
)
TEXT = typer.Option(None, "--text", metavar="TEXT", help="Free text in --lang (needs --marker).")
TEXT_EN = typer.Option(
    None, "--text-en", metavar="TEXT", help="The English text of --text when --lang is not en."
)
DEADLINE = typer.Option(
    None,
    "--deadline",
    metavar="WHEN",
    help="Answer expected by: an ISO 8601 UTC time, or +N[s|m|h|d] from now (+15m).",
)
LANG = typer.Option("en", "--lang", metavar="LANG", help="The sender's language (en, ja, zh).")
MSG_ID = typer.Option(
    None, "--msg-id", metavar="ID", help="Idempotency key: sending it again returns the stored seq."
)
JSON_OUT = typer.Option(False, "--json", help="Print JSON.")


@contextmanager
def _errors() -> Iterator[None]:
    """:func:`user_errors`, with an unknown peer and a malformed input counted as bad input."""
    with user_errors():
        try:
            yield
        except (UnknownPeerError, MalformedError) as exc:
            raise InputError(str(exc)) from None


def parse_deadline(text: str | None, now_ms: int) -> int | None:
    """``--deadline``: ISO 8601 (UTC when no offset) or ``+N`` s/m/h/d after ``now_ms``.

    Raises:
        InputError: neither form, or not after ``now_ms``.
    """
    from seabridge.hotline.entries import format_timestamp

    if text is None:
        return None
    match = _RELATIVE.fullmatch(text.strip())
    if match is not None:
        deadline_ms = now_ms + int(match[1]) * _UNIT_S[match[2]] * 1000
    else:
        try:
            deadline_ms = iso_to_ms(text)
        except ValueError:
            raise InputError(
                f"--deadline {text!r}: give an ISO 8601 UTC time (2026-05-01T12:00:00Z) or a "
                "delay from now (+15m, +2h, +1d)"
            ) from None
    if deadline_ms <= now_ms:
        raise InputError(f"--deadline {text!r} is not in the future ({format_timestamp(now_ms)})")
    return deadline_ms


def _open_ledger(node: NodeConfig) -> Ledger:
    from seabridge.node.runtime import open_ledger

    return open_ledger(node, CLOCK)


def _params(items: list[str]) -> dict[str, str | int]:
    params: dict[str, str | int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError(f"--param {item!r}: give NAME=VALUE, e.g. --param vessel=412345678")
        params[name.strip()] = value
    return params


def _message(
    node: NodeConfig,
    template: str | None,
    params: list[str],
    text: str | None,
    text_en: str | None,
    lang: str,
    marker: str | None,
) -> dict[str, object]:
    """The body of a message (:func:`seabridge.node.messages.message_body`, as the console's
    ``POST /api/hotline/send`` builds it)."""
    from seabridge.node.messages import CLI_SPELLING, message_body, phrasebook_of

    return message_body(
        lambda: phrasebook_of(node, spell=CLI_SPELLING),
        template=template,
        params=_params(params),
        text=text,
        text_en=text_en,
        lang=lang,
        marker=marker,
        spell=CLI_SPELLING,
    )


def _peer_ref(ledger: Ledger, peer: str, seq: int) -> Ref:
    """A reference to entry ``seq`` of ``peer``'s log as mirrored here."""
    from seabridge.node.messages import CLI_SPELLING, peer_ref

    return peer_ref(ledger, peer, seq, spell=CLI_SPELLING)


def _sent(peer: str, entry: Entry, as_json: bool, *, configured: bool = True) -> None:
    summary = {
        "peer": peer,
        "origin": entry.log,
        "seq": entry.seq,
        "msg_id": entry.msg_id,
        "kind": entry.kind,
        "created": entry.created,
        "deadline": entry.deadline,
        "lang": entry.lang,
    }
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    out.print(
        f"stored {entry.kind} seq {entry.seq} msg_id {entry.msg_id} for {peer} "
        f"(signed; delivered by the running node, seabridge serve)",
        markup=False,
        soft_wrap=True,
    )
    if not configured:
        out.print(
            f"{peer} is not configured yet: it is delivered after seabridge peer add",
            markup=False,
            soft_wrap=True,
        )


@hotline_app.command("send")
def send(
    node_dir: Path = NODE,
    to: str = TO,
    kind: str = typer.Option(
        "notification", "--kind", metavar="KIND", help=f"One of {', '.join(SEND_KINDS)}."
    ),
    template: str | None = TEMPLATE,
    param: list[str] = PARAM,
    text: str | None = TEXT,
    text_en: str | None = TEXT_EN,
    marker: str | None = typer.Option(
        None, "--marker", metavar="MARKER", help="SMCP marker of --text (default INFORMATION)."
    ),
    level: int = typer.Option(1, "--level", min=1, max=4, help="Escalation level (1-4)."),
    deadline: str | None = DEADLINE,
    lang: str = LANG,
    msg_id: str | None = MSG_ID,
    as_json: bool = JSON_OUT,
) -> None:
    """Sign and store a message for PEER at once (also when the peer is unreachable, or a
    party of the pack not added yet with seabridge peer add)."""
    from seabridge.node import load_node

    with _errors():
        if kind not in SEND_KINDS:
            raise InputError(f"--kind {kind!r}: one of {', '.join(SEND_KINDS)}")
        node = load_node(node_dir)
        deadline_ms = parse_deadline(deadline, CLOCK.now_ms())
        body = _message(node, template, param, text, text_en, lang, marker)
        if kind == "escalation":
            body["level"] = level
        with _open_ledger(node) as ledger:
            entry = ledger.send(to, kind, body, deadline_ms=deadline_ms, lang=lang, msg_id=msg_id)
            configured = to in ledger.peers
    _sent(to, entry, as_json, configured=configured)


@hotline_app.command("reply")
def reply(
    node_dir: Path = NODE,
    to: str = TO,
    seq: int = typer.Option(..., "--seq", metavar="N", help="The peer's entry answered."),
    template: str | None = TEMPLATE,
    param: list[str] = PARAM,
    text: str | None = TEXT,
    text_en: str | None = TEXT_EN,
    marker: str | None = typer.Option(
        None, "--marker", metavar="MARKER", help="SMCP marker of --text (default ANSWER)."
    ),
    deadline: str | None = DEADLINE,
    lang: str = LANG,
    msg_id: str | None = MSG_ID,
    as_json: bool = JSON_OUT,
) -> None:
    """Answer the peer's entry N with a message (a reply entry referring to it)."""
    from seabridge.node import load_node

    with _errors():
        node = load_node(node_dir)
        node.peer(to)
        deadline_ms = parse_deadline(deadline, CLOCK.now_ms())
        if text is not None and marker is None:
            marker = "ANSWER"
        body = _message(node, template, param, text, text_en, lang, marker)
        with _open_ledger(node) as ledger:
            ref = _peer_ref(ledger, to, seq)
            entry = ledger.send(
                to, "reply", body, refs=(ref,), deadline_ms=deadline_ms, lang=lang, msg_id=msg_id
            )
    _sent(to, entry, as_json)


@hotline_app.command("ack")
def ack(
    node_dir: Path = NODE,
    to: str = TO,
    seq: int = typer.Option(..., "--seq", metavar="N", help="The peer's entry acknowledged."),
    text: str | None = typer.Option(None, "--text", metavar="TEXT", help="An optional remark."),
    text_en: str | None = TEXT_EN,
    lang: str = LANG,
    as_json: bool = JSON_OUT,
) -> None:
    """Acknowledge the peer's entry N (the human acknowledgement, not the machine receipt).

    Acknowledging the same entry again returns the stored ack.
    """
    from seabridge.node import load_node
    from seabridge.node.messages import CLI_SPELLING, ack_body

    with _errors():
        node = load_node(node_dir)
        node.peer(to)
        body = ack_body(text, text_en, lang, spell=CLI_SPELLING)
        with _open_ledger(node) as ledger:
            ref = _peer_ref(ledger, to, seq)
            entry = ledger.send(to, "ack", body, refs=(ref,), lang=lang, msg_id=f"ack.{to}.{seq}")
    _sent(to, entry, as_json)


@hotline_app.command("log")
def log(
    node_dir: Path = NODE,
    peer: str | None = typer.Option(
        None, "--peer", metavar="PEER", help="Only the channel to PEER (default: every peer)."
    ),
    as_json: bool = JSON_OUT,
) -> None:
    """Both directions of each channel, with each message's delivery state."""
    from seabridge.node import load_node

    with _errors():
        node = load_node(node_dir)
        with _open_ledger(node) as ledger:  # every channel, also to a peer not added yet
            peers = [peer] if peer is not None else ledger.channels
            rows = [row for party in peers for row in ledger.log_view(party)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        out.print("no messages", markup=False, soft_wrap=True)
        return
    out.print(_log_table(node, rows))


def _log_table(node: NodeConfig, rows: list[dict[str, Any]]) -> Table:
    table = Table("created", "from", "seq", "kind", "text", "receipt", "ack")
    for row in rows:
        author = row["origin"].split("/", 1)[0]
        text = row["text"] or ""
        if row["text_en"] and row["text_en"] != text:
            text = f"[{row['lang']}] {text}\n[en] {row['text_en']}"
        refs = ", ".join(f"{r['log'].split('/', 1)[0]}#{r['seq']}" for r in row["refs"])
        kind = f"{row['kind']} -> {refs}" if refs else row["kind"]
        receipt = row["receipt_time"] if row["receipted"] else "pending"
        table.add_row(
            *(
                Text(str(cell))
                for cell in (
                    row["created"],
                    "us" if author == node.party else author,
                    row["seq"],
                    kind,
                    text,
                    receipt,
                    "yes" if row["acknowledged"] else "-",
                )
            )
        )
    return table


# --- the record ------------------------------------------------------------------------------


def _trusted(node: NodeConfig) -> list[Verifier]:
    """The node's configured keys (:func:`seabridge.node.record.trusted_keys`)."""
    from seabridge.node.record import trusted_keys

    return trusted_keys(node)


def _report(report: Report, as_json: bool) -> None:
    """Print the verdict and exit 1 when it found tampering or equivocation."""
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        for line in report.summary_lines():
            out.print(line, markup=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)


@contextmanager
def _reading(what: str) -> Iterator[None]:
    """A file that cannot be read or parsed is a usage error (exit 2), not tampering."""
    try:
        yield
    except LedgerError as exc:
        err.print(f"error: {what}: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None


@ledger_app.command("verify")
def verify(
    node_dir: Path | None = typer.Option(
        None, "--node", metavar="DIR", help="Verify this node's record against its keys."
    ),
    evidence: Path | None = typer.Option(
        None, "--evidence", metavar="FILE", help="Verify an evidence file (ledger export)."
    ),
    key: list[str] = typer.Option(
        [],
        "--key",
        metavar="VKEY",
        help="With --evidence: a party's published verifier key (repeat); every key the file "
        "lists must be one of them. Default: the file's own keys.",
    ),
    as_json: bool = JSON_OUT,
) -> None:
    """Re-derive the record from its bytes and public keys. Exit 0 consistent, 1 tampering or
    equivocation (the first bad origin/seq is named), 2 usage or I/O error."""
    from seabridge.hotline.evidence import load_evidence, parse_evidence
    from seabridge.hotline.keys import parse_vkey
    from seabridge.hotline.verify import verify_evidence
    from seabridge.node import load_node

    if (node_dir is None) == (evidence is None) or (key and node_dir is not None):
        err.print(
            "error: give --node DIR, or --evidence FILE (with --key VKEY ... if you have the "
            "parties' keys)",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    trusted: list[Verifier] | None = None
    if evidence is not None:
        with _reading("evidence file"):
            trusted = [parse_vkey(vkey) for vkey in key] or None
            parsed = load_evidence(evidence)
    else:
        assert node_dir is not None
        with _errors():
            node = load_node(node_dir)
            trusted = _trusted(node)
            with _open_ledger(node) as ledger:
                exported = ledger.export_evidence()
        with _reading(str(node.dir.state)):
            parsed = parse_evidence(exported)
    _report(verify_evidence(parsed, trusted), as_json)


@ledger_app.command("export")
def export(
    node_dir: Path = NODE,
    out_file: Path = typer.Option(
        ..., "--out", metavar="FILE", help="The evidence file to write; '-' for standard output."
    ),
) -> None:
    """Write the evidence file: entries, checkpoints, cosignatures, public keys (never a
    private key)."""
    from seabridge.hotline.evidence import dumps_evidence, write_evidence
    from seabridge.node import load_node

    with _errors():
        node = load_node(node_dir)
        with _open_ledger(node) as ledger:
            exported = ledger.export_evidence()
    if str(out_file) == "-":
        typer.echo(dumps_evidence(exported).decode(), nl=False)
        return
    with _reading("evidence file"):
        write_evidence(exported, out_file)
    sizes = ", ".join(f"{log['origin']}: {len(log['entries'])}" for log in exported["logs"])
    out.print(f"wrote {out_file} ({sizes or 'no logs'})", markup=False, soft_wrap=True)


@ledger_app.command("prove")
def prove(
    node_dir: Path = NODE,
    origin: str = typer.Option(
        ..., "--origin", metavar="ORIGIN", help="The log, e.g. jcg/hotline/ccg (see hotline log)."
    ),
    seq: int = typer.Option(..., "--seq", metavar="N", help="The entry's seq in that log."),
    out_file: Path | None = typer.Option(
        None, "--out", metavar="FILE", help="Write the proof here (default: standard output)."
    ),
) -> None:
    """Write a proof of one entry for a third party: the entry, its inclusion proof and a
    checkpoint cosigned by the receiver (check it with ledger verify-proof)."""
    from seabridge.hotline.evidence import parse_evidence
    from seabridge.hotline.proofs import build_proof_from_evidence
    from seabridge.node import load_node

    with _errors():
        node = load_node(node_dir)
        with _open_ledger(node) as ledger:
            evidence = parse_evidence(ledger.export_evidence())
        try:
            proof = build_proof_from_evidence(evidence, origin, seq)
        except VerificationError:  # the stored entry does not verify: exit 1, as tampering
            raise
        except LedgerError as exc:  # no such log or entry: the arguments are wrong
            raise InputError(f"--origin {origin} --seq {seq}: {exc}") from None
    text = json.dumps(proof, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
    if out_file is None:
        typer.echo(text, nl=False)
        return
    try:
        out_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        err.print(
            f"error: {out_file}: cannot write the proof ({exc.strerror})",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(2) from None
    state = "cosigned" if proof["cosigned"] else "NOT cosigned yet (sending only)"
    out.print(f"wrote {out_file}: {origin}#{seq}, checkpoint {state}", markup=False, soft_wrap=True)


@ledger_app.command("verify-proof")
def verify_proof_file(
    proof_file: Path = typer.Argument(..., metavar="FILE", help="A proof from ledger prove."),
    key: list[str] = typer.Option(
        [],
        "--key",
        metavar="VKEY",
        help="A party's published verifier key (repeat); every key the proof uses must be "
        "one of them. Default: the proof's own keys.",
    ),
    as_json: bool = JSON_OUT,
) -> None:
    """Check a proof stand-alone (no node needed). Exit 0 valid, 1 it does not verify, 2 usage
    or I/O error."""
    from seabridge.hotline.evidence import loads_json
    from seabridge.hotline.keys import parse_vkey
    from seabridge.hotline.proofs import verify_proof

    with _reading("proof file"):
        trusted = [parse_vkey(vkey) for vkey in key] or None
        try:
            data = proof_file.read_bytes()
        except OSError as exc:
            raise LedgerError(f"{proof_file}: cannot read ({exc.strerror})") from None
        value = loads_json(data, str(proof_file))
        if not isinstance(value, dict):
            raise MalformedError(f"{proof_file}: a proof is a JSON object")
        try:
            result = verify_proof(value, trusted)
        except VerificationError as exc:
            if as_json:
                typer.echo(json.dumps({"ok": False, "error": str(exc)}, ensure_ascii=False))
            else:
                out.print(f"FAILED: {exc}", markup=False, soft_wrap=True)
            raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps({"ok": True, **result.to_json()}, ensure_ascii=False, indent=2))
        return
    for line in result.summary_lines():
        out.print(line, markup=False, soft_wrap=True)
    out.print("OK: the proof verifies", markup=False, soft_wrap=True)


@node_app.command("rotate-key")
def rotate(
    directory: Path = typer.Argument(..., metavar="DIR", help="The node directory."),
    role: str = typer.Option(..., "--role", metavar="ROLE", help="log or cosigner."),
) -> None:
    """Replace a signing key (the old one is kept) and announce the new one in a key-rotation
    entry on every channel, signed by the old key."""
    from seabridge.node import load_node
    from seabridge.node.rotation import rotate_key

    with _errors():
        if role not in ("log", "cosigner"):
            raise InputError(f"--role {role!r}: log or cosigner")
        node = load_node(directory)
        with _open_ledger(node) as ledger:
            _, new = rotate_key(node, "log" if role == "log" else "cosigner")
            entries = ledger.rotate_key(role, new)
    out.print(f"new {role} key: {new.verifier.vkey()}", markup=False, soft_wrap=True)
    for entry in entries:
        out.print(f"announced in {entry.log} seq {entry.seq}", markup=False, soft_wrap=True)
