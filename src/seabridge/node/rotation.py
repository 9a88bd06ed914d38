"""Key rotation of a node's signing keys: the files only.

The ledger announces a rotation in a ``key-rotation`` entry signed by the old key
(``domain/hotline-protocol.md`` §5.10); this module replaces the key file and keeps every
retired key as ``keys/<role>-<n>.key`` (n = 1, 2, ...), never deleting one, so old entries
stay verifiable and the announcement can still be signed.
"""

from __future__ import annotations

from seabridge.hotline.keys import SigningKey
from seabridge.node._files import create_secret, sync_dir
from seabridge.node.directory import KeyRole, NodeConfig, expected_key

__all__ = ["rotate_key"]


def rotate_key(node: NodeConfig, role: KeyRole) -> tuple[SigningKey, SigningKey]:
    """Replace the ``role`` key by a fresh one; keep the old one as ``keys/<role>-<n>.key``.

    The old file is copied to the next free ``n`` first (0600, never overwritten), then the
    new key is written beside and renamed over ``keys/<role>.key``, so a crash leaves either
    the old or the new key current and the old one always kept. The ledger must announce the
    new key in a ``key-rotation`` entry signed by the old one (``hotline-protocol.md`` §5.10).

    Returns:
        (old, new) signing keys.
    """
    old = node.signing_key(role)
    current = node.dir.key(role)
    number = 1
    while node.dir.retired_key(role, number).exists():
        number += 1
    retired = node.dir.retired_key(role, number)
    create_secret(retired, current.read_bytes())
    new = SigningKey.generate(*expected_key(node.party, role))
    pending = current.with_name(f"{current.name}.new")
    pending.unlink(missing_ok=True)  # a key from an interrupted rotation that was never used
    new.save(pending)
    pending.replace(current)
    sync_dir(current.parent)
    return old, new
