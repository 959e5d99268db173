"""The transports a HIS is called over, for tests parametrized over them (as strawberry's tests/http/clients).

``http`` is the spec's recommended JSON over HTTP; ``soap_per_method`` and ``soap_dispatch`` the two WebService
styles (his_clients/soap.py), every simulated hospital and the regional endpoint behind them called that way.
"""

from __future__ import annotations

from typing import Final

from api.demo import REGIONAL_ENDPOINT, STANDALONE, simulated_region
from his_clients.registry import Registry, SoapStyle, SoapVersion

TRANSPORTS: Final = ("http", "soap_per_method", "soap_dispatch")
STYLES: Final[dict[str, SoapStyle]] = {"soap_per_method": "per_method", "soap_dispatch": "dispatch"}


def region_over(
    base_url: str, transport: str, *, timeout_s: float = 2.0, soap_version: SoapVersion = "1.1"
) -> Registry:
    """The simulated region with every hospital (and the regional endpoint) called over ``transport``."""
    style = STYLES.get(transport)
    webservice = {} if style is None else {h: style for h in (*STANDALONE, REGIONAL_ENDPOINT)}
    return simulated_region(base_url, timeout_s=timeout_s, webservice=webservice, soap_version=soap_version)
