"""One running node: its directory (node.toml, keys, peers), TLS identity and peer bundles.

Later issues add the wiring of a running node here (ingest -> detect -> incidents -> hotline).
The package may import the ground floor and the domain packages, never the web layer, the
CLI, typer or rich (``tests/test_architecture.py``).

- :mod:`~seabridge.node.directory`: the node directory, ``node.toml``, keys and their rotation.
- :mod:`~seabridge.node.tls`: the node's CA and certificate, and the mutual-TLS contexts.
- :mod:`~seabridge.node.rotation`: rotation of the signing key files (old keys kept).
- :mod:`~seabridge.node.bundle`: the public peer bundle (export, validation, import).
- :mod:`~seabridge.node.runtime`: the node's ledger (:func:`open_ledger`) and the delivery loop
  to its peers (:class:`Delivery`).
"""

from __future__ import annotations

from seabridge.node.bundle import (
    BUNDLE_FORMAT,
    PeerBundle,
    export_bundle,
    import_bundle,
    read_bundle,
)
from seabridge.node.directory import (
    ROLES,
    Address,
    KeyRole,
    NodeConfig,
    NodeDir,
    PeerConfig,
    add_peer,
    init_node,
    load_node,
)
from seabridge.node.rotation import rotate_key
from seabridge.node.runtime import Delivery, DeliveryOptions, open_ledger
from seabridge.node.tls import client_context, server_context, spki_pin

__all__ = [
    "BUNDLE_FORMAT",
    "ROLES",
    "Address",
    "Delivery",
    "DeliveryOptions",
    "KeyRole",
    "NodeConfig",
    "NodeDir",
    "PeerBundle",
    "PeerConfig",
    "add_peer",
    "client_context",
    "export_bundle",
    "import_bundle",
    "init_node",
    "load_node",
    "open_ledger",
    "read_bundle",
    "rotate_key",
    "server_context",
    "spki_pin",
]
