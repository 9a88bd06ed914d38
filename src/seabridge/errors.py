"""The one exception hierarchy of Seabridge.

Every error Seabridge raises on purpose derives from :class:`SeabridgeError`, so callers
(the CLI, the web API) can catch one type and show its message. Messages say what was
wrong, where, and what to do.

::

    SeabridgeError
    ├── ConfigError            a setting or node.toml value is missing or invalid
    ├── InputError             a user-supplied input cannot be used at all
    │   ├── SourceError        a source (file, directory, socket URL) cannot be opened or read
    │   └── FormatError        an input's format cannot be detected or is not the one forced
    ├── StoreError             the track store cannot be opened, written or queried
    │   └── StoreLockedError   another process holds the DuckDB file
    ├── PackError              a data pack is missing a file or has an invalid field
    ├── IncidentError          an incident cannot take that step (illegal transition, unknown id)
    ├── AuthError              a console user, session or token refuses the operation
    │   ├── LoginError         wrong user name or password, or a disabled user (HTTP 401)
    │   └── RateLimitedError   too many failed logins; retry after ``retry_after_s`` (HTTP 429)
    └── LedgerError            the hotline's joint record refuses or cannot use something
        ├── MalformedError     an entry, note, proof or evidence file does not parse
        ├── VerificationError  a signature, proof or root does not verify
        │   └── SignatureError a signature does not verify (HTTP 403)
        ├── ConflictError      a push does not follow on from the stored size (HTTP 409)
        ├── EquivocationError  two signed artefacts contradict each other (kept as evidence)
        ├── UnknownPeerError   an origin, key or peer that this node does not know
        └── DeliveryError      a peer cannot be reached or answered with an error

Bad-input policy: ingest never raises per line. A malformed line is counted by reason and
written to the quarantine (see :mod:`seabridge.ais.quarantine`); only an input that cannot be
used at all (a missing file, an unknown format, an unreachable address given once) raises
:class:`InputError`.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigError",
    "ConflictError",
    "DeliveryError",
    "EquivocationError",
    "FormatError",
    "IncidentError",
    "InputError",
    "LedgerError",
    "LoginError",
    "MalformedError",
    "NoCheckpointError",
    "PackError",
    "RateLimitedError",
    "SeabridgeError",
    "SignatureError",
    "SourceError",
    "StoreError",
    "StoreLockedError",
    "UnknownPeerError",
    "VerificationError",
]


class SeabridgeError(Exception):
    """Base class of every error Seabridge raises on purpose."""


class ConfigError(SeabridgeError):
    """A setting or a node.toml value is missing or invalid."""


class InputError(SeabridgeError):
    """A user-supplied input cannot be used at all."""


class SourceError(InputError):
    """A source (file, directory, socket URL) cannot be opened or read."""


class FormatError(InputError):
    """An input's format cannot be detected, or is not the format that was forced."""


class StoreError(SeabridgeError):
    """The track store cannot be opened, written or queried."""


class StoreLockedError(StoreError):
    """Another process holds the DuckDB file (DuckDB allows one process per file)."""


class PackError(SeabridgeError):
    """A data pack is missing a file or has an invalid field."""


class IncidentError(SeabridgeError):
    """An incident cannot take the step asked (an illegal transition, an unknown incident)."""


class AuthError(SeabridgeError):
    """The console's users refuse an operation (a disabled user, the last enabled admin
    that would be lost) or their tables cannot be used. Unknown users and unacceptable names
    or passwords are :class:`InputError`."""


class LoginError(AuthError):
    """Wrong user name or password, or a disabled user: one message for all (HTTP 401)."""


class RateLimitedError(AuthError):
    """Too many failed logins for a user or a client address (HTTP 429).

    ``retry_after_s`` is when the oldest counted failure leaves the window.
    """

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class LedgerError(SeabridgeError):
    """The hotline's joint record refuses, or cannot use, an input or an operation."""


class MalformedError(LedgerError):
    """An entry, note, cosignature, proof or evidence file does not parse."""


class VerificationError(LedgerError):
    """A signature, Merkle proof or root does not verify."""


class SignatureError(VerificationError):
    """A signature does not verify (entry, checkpoint note or cosignature).

    Also raised when no key that may sign is known for it (no key valid at that seq, no
    signature by a known key): the signer, not the data, is what fails.
    """


class ConflictError(LedgerError):
    """A push does not follow on from the size stored for its log (HTTP 409).

    ``size`` is the size the receiver holds, so the sender can resend from there.
    """

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class EquivocationError(LedgerError):
    """Two signed artefacts of one author contradict each other; both are kept as evidence."""


class UnknownPeerError(LedgerError):
    """An origin, key or peer that this node has not been configured with."""


class NoCheckpointError(UnknownPeerError):
    """A known log of which no checkpoint is stored yet (nothing of it to pull)."""


class DeliveryError(LedgerError):
    """A peer cannot be reached, or answered with an error."""
