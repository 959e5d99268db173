"""render_money's plain-text fast path writes what the quantize path writes, for every Decimal (issue 13 item 2)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from his_clients.models.base import CENT, render_money


def _by_quantize(amount: Decimal) -> str:
    """render_money as it was before its fast path: the reference."""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))
    return str(amount.normalize()) if amount == amount.to_integral_value() else str(amount)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("65.1", "65.10"),
        ("65", "65.00"),
        ("65.10", "65.10"),
        ("-3.5", "-3.50"),
        ("-0", "-0.00"),
        ("1E+2", "100.00"),
        ("0.005", "0.005"),
        ("12.3456", "12.3456"),
        ("1.000", "1"),
        ("0E-7", "0"),
        ("NaN", "NaN"),
        ("-Infinity", "-Infinity"),
    ],
)
def test_amounts_as_the_spec_writes_them(amount: str, text: str) -> None:
    assert render_money(Decimal(amount)) == text == _by_quantize(Decimal(amount))


@given(
    st.one_of(
        st.decimals(allow_nan=True, allow_infinity=True),
        st.decimals(places=2, min_value=-(10**9), max_value=10**9),
        st.builds(Decimal, st.from_regex(r"-?[0-9]{1,12}(\.[0-9]{0,6})?([eE][-+]?[0-9]{1,2})?", fullmatch=True)),
    )
)
@example(Decimal("1" + "0" * 26))  # 27 integer digits: quantize refuses the 29 digits, and so does the fast path
@example(Decimal("9" * 26))  # 26: both write it
@example(Decimal("-" + "9" * 26 + ".5"))
def test_the_fast_path_equals_quantize(amount: Decimal) -> None:
    assert _outcome(render_money, amount) == _outcome(_by_quantize, amount)


def _outcome(render: Callable[[Decimal], str], amount: Decimal) -> str:
    """The text, or the exception's type (past 28 digits quantize refuses, before and after alike)."""
    try:
        return render(amount)
    except ArithmeticError as exc:
        return type(exc).__name__
