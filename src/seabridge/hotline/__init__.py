"""The hotline's joint record: the data structures and formats both nodes must agree on.

Modules (import them directly; this package re-exports nothing):

- :mod:`~seabridge.hotline.merkle`: the RFC 9162 Merkle tree, inclusion and consistency proofs.
- :mod:`~seabridge.hotline.canonical`: canonical JSON (the RFC 8785 subset the entries use).
- :mod:`~seabridge.hotline.keys`: Ed25519 signing keys and C2SP verifier keys (vkeys).
- :mod:`~seabridge.hotline.notes`: C2SP signed notes, checkpoints and cosignatures (receipts).
- :mod:`~seabridge.hotline.entries`: the entry format of ``domain/hotline-protocol.md`` §5.1.
- :mod:`~seabridge.hotline.ledger`: one node's record (the facade) over
  :mod:`~seabridge.hotline.log_rows`, :mod:`~seabridge.hotline.receive` and
  :mod:`~seabridge.hotline.delivery_state`.
- :mod:`~seabridge.hotline.evidence`: evidence files (format, parse, write);
  :mod:`~seabridge.hotline.verify` (with :mod:`~seabridge.hotline.verify_links`) verifies them
  into a :mod:`~seabridge.hotline.findings` report.

The ledger knows nothing about incidents, AIS or the web: it may import only
:mod:`seabridge.clock` and :mod:`seabridge.errors` from the project
(``tests/test_architecture.py`` checks it).
Bad input raises :class:`~seabridge.errors.MalformedError` (does not parse) or
:class:`~seabridge.errors.VerificationError` (parses but does not verify), never anything else.
"""
