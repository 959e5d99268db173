"""Yuan (``Decimal``, above the provider interface) to fen (WeChat's integers) and back, exactly."""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def yuan_to_fen(amount: Decimal) -> int:
    """Fen for an amount in yuan; an amount that is not a whole number of fen is refused, never rounded."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValueError(f"not a finite Decimal amount: {amount!r}")
    fen = amount.scaleb(2)  # exact: only the exponent changes
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} yuan is not a whole number of fen")
    return int(fen)


def fen_to_yuan(fen: int) -> Decimal:
    """Yuan with two places for an amount in fen."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise ValueError(f"fen must be an integer: {fen!r}")
    return Decimal(fen).scaleb(-2).quantize(CENT)
