"""Everything that can go wrong calling a hospital, as one tree.

    HisError                      a call to one hospital's method failed
    ├── HisUnavailable            no usable answer: reads may be retried, the field becomes null
    │   ├── HisTimeout            the hospital did not answer in time (or the request's deadline ran out)
    │   ├── HisConnectError       could not connect, or the connection broke
    │   ├── HisHttpError          an HTTP status other than 200 (5xx, 404 for a wrong path, ...)
    │   └── HisCircuitOpen        this hospital keeps failing: answered at once until it recovers
    ├── HisProtocolError          an answer came, but it is not the spec's envelope or ``data`` did not validate
    └── HisRejected               ``success: false`` with a 附四 code (a business refusal)
        ├── HisNoData             10002 未查询到数据: on a read, an empty result rather than a failure
        └── HisNotOpened          40003: the hospital has not opened this interface (no network call made)

Every error names the hospital and the method, and carries ``code``: the 附四 code for a refusal,
otherwise one of our own string codes (``HIS_TIMEOUT``...). Layers above read these, never httpx's.
"""

from __future__ import annotations

from .codes import ReturnCode


class HisError(Exception):
    """A call to one hospital's method failed."""

    code: str = "HIS_ERROR"

    def __init__(self, message: str, *, hospital_id: str, method: str) -> None:
        super().__init__(message)
        self.message = message
        self.hospital_id = hospital_id
        self.method = method

    def __str__(self) -> str:
        return f"hospital {self.hospital_id}, {self.method}: {self.message}"

    def for_hospital(self, hospital_id: str) -> HisError:
        """The same failure, told for one hospital of a group that was asked in one call."""
        # Not copy.copy: it rebuilds an exception from ``args`` alone, and the subclasses' keyword-only
        # arguments (HisRejected's code) would be missing.
        copied = type(self).__new__(type(self), *self.args)
        copied.__dict__.update(self.__dict__)
        copied.hospital_id = hospital_id
        return copied

    @property
    def extensions(self) -> dict[str, str]:
        """What a GraphQL error or a log line says about this failure."""
        return {"hospitalId": self.hospital_id, "code": self.code, "method": self.method}


class HisUnavailable(HisError):
    """No usable answer (timeout, connection, HTTP status, open circuit)."""

    code = "HIS_UNAVAILABLE"


class HisTimeout(HisUnavailable):
    code = "HIS_TIMEOUT"


class HisConnectError(HisUnavailable):
    code = "HIS_CONNECT_ERROR"


class HisHttpError(HisUnavailable):
    code = "HIS_HTTP_ERROR"

    def __init__(self, message: str, *, hospital_id: str, method: str, status: int) -> None:
        super().__init__(message, hospital_id=hospital_id, method=method)
        self.status = status


class HisCircuitOpen(HisUnavailable):
    code = "HIS_CIRCUIT_OPEN"


class HisProtocolError(HisError):
    """The hospital answered, but not in the spec's shape."""

    code = "HIS_PROTOCOL_ERROR"


class HisRejected(HisError):
    """The hospital refused: ``success: false`` with a 附四 code (``return_code`` when we know it)."""

    def __init__(self, message: str, *, hospital_id: str, method: str, code: str) -> None:
        super().__init__(message, hospital_id=hospital_id, method=method)
        self.code = code
        self.return_code = ReturnCode.parse(code)


class HisNoData(HisRejected):
    """10002: nothing found. Reads turn this into an empty result; for refunds it means "state unknown"."""

    def __init__(self, message: str, *, hospital_id: str, method: str) -> None:
        super().__init__(message, hospital_id=hospital_id, method=method, code=ReturnCode.NO_DATA)


class HisNotOpened(HisRejected):
    """40003, decided from the registry without calling the hospital."""

    def __init__(self, *, hospital_id: str, method: str) -> None:
        super().__init__(
            ReturnCode.NOT_OPENED.meaning, hospital_id=hospital_id, method=method, code=ReturnCode.NOT_OPENED
        )
