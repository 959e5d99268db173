"""Session tokens are verified once and then remembered (services/identity/principal.py ``VERIFIED_TOKENS``):
the memory must never accept what the check would refuse, nor be filled by an attacker."""

from __future__ import annotations

from services.identity.principal import (
    VERIFIED_TOKENS,
    InvalidSession,
    OperatorPrincipal,
    PatientPrincipal,
    SessionTokens,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_remembered_token_still_expires() -> None:
    clock = Clock()
    tokens = SessionTokens(b"secret", ttl_s=60, clock=clock)
    token = tokens.issue(PatientPrincipal(account_id=7))
    assert tokens.read(token) == PatientPrincipal(account_id=7)
    clock.now += 30
    assert tokens.read(token) == PatientPrincipal(account_id=7)  # remembered, not yet expired
    clock.now += 31
    assert isinstance(tokens.read(token), InvalidSession)
    assert isinstance(tokens.read(token), InvalidSession)  # and forgotten: checked again, and refused again


def test_an_edited_remembered_token_is_refused() -> None:
    tokens = SessionTokens(b"secret")
    token = tokens.issue(PatientPrincipal(account_id=7))
    assert tokens.read(token) == PatientPrincipal(account_id=7)
    body, _, mac = token.partition(".")
    for edited in (token + "A", token[:-1], f"{body}.{mac[::-1]}", f"{body}A.{mac}", " " + token):
        assert isinstance(tokens.read(edited), InvalidSession), edited


def test_another_secret_never_reads_a_remembered_token() -> None:
    ours, theirs = SessionTokens(b"secret"), SessionTokens(b"another secret")
    token = theirs.issue(PatientPrincipal(account_id=7))
    assert theirs.read(token) == PatientPrincipal(account_id=7)
    assert isinstance(ours.read(token), InvalidSession)


def test_forged_tokens_are_not_remembered() -> None:
    """A flood of forged tokens leaves nothing behind; valid ones are kept to the bound, the oldest let go."""
    tokens = SessionTokens(b"secret")
    forger = SessionTokens(b"forger")
    for account in range(2_000):
        assert isinstance(tokens.read(forger.issue(PatientPrincipal(account_id=account))), InvalidSession)
        assert isinstance(tokens.read(f"eyJrIjoicCIsImEiOjF9.{account}"), InvalidSession)
    assert len(tokens._verified) == 0
    issued = [tokens.issue(PatientPrincipal(account_id=account)) for account in range(VERIFIED_TOKENS + 10)]
    for token in issued:
        tokens.read(token)
    assert len(tokens._verified) == VERIFIED_TOKENS
    assert tokens.read(issued[0]) == PatientPrincipal(account_id=0)  # let go, then verified again


def test_an_operator_token_is_remembered_as_a_claim_only() -> None:
    """An operator's token names a stored session; what is remembered is the same claim the check reads, which
    api/graphql.py hands to OperatorSessions.check on every request (tests/security/test_operators.py)."""
    tokens = SessionTokens(b"secret")
    claim = OperatorPrincipal(operator_id=3, role="hospital", hospital_id="254", session_id="s-1")
    token = tokens.issue(claim)
    assert tokens.read(token) == claim
    assert tokens.read(token) == claim
