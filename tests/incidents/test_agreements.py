"""Agreements: a (document, hash) is jointly agreed once a proposal by one party is
countersigned by the other with the same hash; bodies match the hotline's agreement schema."""

from __future__ import annotations

import pytest
from incident_kit import MECHANISM

from seabridge.errors import IncidentError
from seabridge.hotline.entries import BODY_FIELDS
from seabridge.incidents.agreements import (
    AgreementBook,
    AgreementMessage,
    countersign_body,
    document_name,
    proposal_body,
    review,
)

RULEBOOK = document_name("rulebook", "ecs-standard", 1)
SHA_A, SHA_B = "a" * 64, "b" * 64


def proposal(author: str, seq: int, document: str = RULEBOOK, sha: str = SHA_A) -> AgreementMessage:
    return AgreementMessage.from_body(
        author, f"{author}/hotline/x", seq, proposal_body(document, sha)
    )


def countersign(author: str, seq: int, of: AgreementMessage) -> AgreementMessage:
    body, refs = countersign_body(of)
    return AgreementMessage.from_body(author, f"{author}/hotline/x", seq, body, refs)


def test_bodies_match_the_hotline_schema() -> None:
    # Only the schema's field names are compared: the incidents layer may not import the
    # hotline in src, but a test may check the two agree.
    required, optional = BODY_FIELDS["agreement"]
    body = proposal_body(RULEBOOK, SHA_A)
    assert set(body) == set(required)
    for name, check in required.items():
        check(body[name], name)
    signed, refs = countersign_body(proposal("jcg", 0))
    assert set(signed) == set(required) and signed["role"] == "countersignature"
    assert refs == [("jcg/hotline/x", 0)]
    assert set(optional) == {"text", "text_en"}


def test_joint_agreement_needs_the_other_partys_countersignature() -> None:
    book = AgreementBook()
    mine = proposal("jcg", 0)
    book.add(mine)
    assert book.jointly_agreed("rulebook/") == set() and not book.is_agreed(SHA_A)
    book.add(countersign("jcg", 1, mine))  # a party cannot agree with itself
    assert not book.is_agreed(SHA_A)
    book.add(countersign("ccg", 0, mine))
    assert book.jointly_agreed("rulebook/") == {SHA_A}
    assert book.jointly_agreed("mechanism/") == set()
    assert book.is_agreed(SHA_A) and not book.is_agreed(SHA_B)
    assert book.status() == [
        {"document": RULEBOOK, "sha256": SHA_A, "proposed_by": ["jcg"],
         "countersigned_by": ["ccg"], "agreed": True},
    ]  # fmt: skip


def test_a_countersignature_of_another_hash_does_not_agree_and_order_does_not_matter() -> None:
    mine = proposal("jcg", 0)
    wrong = AgreementMessage("ccg", "ccg/hotline/x", 0, "countersignature", RULEBOOK, SHA_B,
                             (("jcg/hotline/x", 0),))  # fmt: skip
    right = countersign("ccg", 1, mine)
    book = AgreementBook([right, wrong])  # countersignature before its proposal
    assert not book.is_agreed(SHA_A)
    book.add(mine)
    book.add(mine)
    assert book.jointly_agreed() == {SHA_A}
    assert not book.is_agreed(SHA_B)


def test_review_countersigns_only_a_matching_copy() -> None:
    theirs = proposal("ccg", 3, MECHANISM.document, MECHANISM.sha256)
    assert review(theirs, {MECHANISM.document: SHA_B}) is None
    assert review(theirs, {}) is None
    body, refs = review(theirs, {MECHANISM.document: MECHANISM.sha256}) or ({}, [])
    assert body == {"role": "countersignature", "document": MECHANISM.document,
                    "sha256": MECHANISM.sha256}  # fmt: skip
    assert refs == [("ccg/hotline/x", 3)]


@pytest.mark.parametrize(
    "body",
    [
        {"role": "vote", "document": RULEBOOK, "sha256": SHA_A},
        {"role": "proposal", "document": "rulebook", "sha256": SHA_A},
        {"role": "proposal", "document": RULEBOOK, "sha256": "A" * 64},
    ],
)
def test_malformed_bodies_are_refused(body: dict[str, str]) -> None:
    with pytest.raises(IncidentError):
        AgreementMessage.from_body("ccg", "ccg/hotline/jcg", 0, body)


def test_a_countersignature_names_exactly_one_proposal() -> None:
    body, _ = countersign_body(proposal("jcg", 0))
    with pytest.raises(IncidentError, match="exactly one"):
        AgreementMessage.from_body("ccg", "ccg/hotline/jcg", 0, body, [])
    with pytest.raises(IncidentError, match="document name"):
        document_name("rulebook", "Bad Id", 1)
