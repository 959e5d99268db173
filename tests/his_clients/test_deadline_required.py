"""Every HIS call runs under a deadline (issue 12 item 17): the client's entry points take no default."""

from __future__ import annotations

import inspect

import pytest

from his_clients.client import HisClient


@pytest.mark.parametrize("name", ["call", "call_for_hospitals", "open_file_stream"])
def test_deadline_is_a_required_keyword(name: str) -> None:
    """issue 12 item 17: a call without ``deadline=`` fails type-checking (mypy) and at run time."""
    parameter = inspect.signature(getattr(HisClient, name)).parameters["deadline"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default is inspect.Parameter.empty
