"""Every expected refusal, in one vocabulary: the spec's 附四 return codes and our own codes, and one exception.

A refusal is an answer, not a bug: a missing argument (20001), a wrong SMS code, a hospital that refused a write
(60701), a hospital that did not answer (HIS_TIMEOUT), an order that changed since it was read. Services raise
``Refused`` carrying a ``RefusalCode``; GraphQL shows it either as the one ``Refusal`` type (in a mutation's result
union) or as an error whose ``extensions.code`` is the code's wire value. Production masks every error that is not
a ``Refused`` (or a hospital's ``HisError``): a ``ValueError`` from a bug is "Unexpected error.", never passed on.

The wire value of a 附四 member is its number ("20001"), of ours its name ("HIS_TIMEOUT"): GraphQL clients read the
enum's name (``MISSING_PARAMETER``), extensions and logs the wire value, which never changes meaning.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Final

from his_clients.codes import ReturnCode

_TRY_LATER: Final = "医院系统暂时无法办理，请稍后再试，或到医院窗口咨询。"


class RefusalCode(Enum):
    """Why something was refused. ``value`` is the wire code; ``meaning`` (below) what a patient reads."""

    # 附四 接口返回代码对照关系 (SUCCESS is no refusal)
    NO_DATA = ReturnCode.NO_DATA.value
    SYSTEM_ERROR = ReturnCode.SYSTEM_ERROR.value
    MISSING_PARAMETER = ReturnCode.MISSING_PARAMETER.value
    PARAMETER_TYPE = ReturnCode.PARAMETER_TYPE.value
    PARAMETER_FORMAT = ReturnCode.PARAMETER_FORMAT.value
    PARAMETER_RANGE = ReturnCode.PARAMETER_RANGE.value
    CARD_NOT_FOUND_20215 = ReturnCode.CARD_NOT_FOUND_20215.value
    DATABASE_ERROR = ReturnCode.DATABASE_ERROR.value
    BUSY = ReturnCode.BUSY.value
    NOT_ALLOWED = ReturnCode.NOT_ALLOWED.value
    NOT_OPENED = ReturnCode.NOT_OPENED.value
    PROCESSING = ReturnCode.PROCESSING.value
    UNAUTHORIZED = ReturnCode.UNAUTHORIZED.value
    HOSPITAL_NOT_FOUND = ReturnCode.HOSPITAL_NOT_FOUND.value
    DOCTOR_NOT_FOUND = ReturnCode.DOCTOR_NOT_FOUND.value
    CARD_NO_ONLINE_PAYMENT = ReturnCode.CARD_NO_ONLINE_PAYMENT.value
    PENDING_BILL_NOT_FOUND = ReturnCode.PENDING_BILL_NOT_FOUND.value
    AMOUNT_MISMATCH = ReturnCode.AMOUNT_MISMATCH.value
    CHARGE_ITEM_NOT_FOUND = ReturnCode.CHARGE_ITEM_NOT_FOUND.value
    REGISTRATION_EXEMPT = ReturnCode.REGISTRATION_EXEMPT.value
    REGISTRATION_FEE_MISMATCH = ReturnCode.REGISTRATION_FEE_MISMATCH.value
    ALREADY_SEEN_NO_REFUND = ReturnCode.ALREADY_SEEN_NO_REFUND.value
    REGISTRATION_NOT_FOUND = ReturnCode.REGISTRATION_NOT_FOUND.value
    SLOTS_FULL = ReturnCode.SLOTS_FULL.value
    DOCTOR_STOPPED = ReturnCode.DOCTOR_STOPPED.value
    SEX_RESTRICTED = ReturnCode.SEX_RESTRICTED.value
    AGE_RESTRICTED = ReturnCode.AGE_RESTRICTED.value
    CHECK_IN_PASSED = ReturnCode.CHECK_IN_PASSED.value
    REGISTRATION_LIMIT = ReturnCode.REGISTRATION_LIMIT.value
    DEPT_DAILY_APPOINTMENT_LIMIT = ReturnCode.DEPT_DAILY_APPOINTMENT_LIMIT.value
    DOCTOR_DAILY_APPOINTMENT_LIMIT = ReturnCode.DOCTOR_DAILY_APPOINTMENT_LIMIT.value
    DEPT_DAILY_REGISTRATION_LIMIT = ReturnCode.DEPT_DAILY_REGISTRATION_LIMIT.value
    DOCTOR_DAILY_REGISTRATION_LIMIT = ReturnCode.DOCTOR_DAILY_REGISTRATION_LIMIT.value
    CARD_NO_ONLINE_RECHARGE = ReturnCode.CARD_NO_ONLINE_RECHARGE.value
    BUSINESS_NOT_OPENED = ReturnCode.BUSINESS_NOT_OPENED.value
    RECHARGE_FAILED_RETRY = ReturnCode.RECHARGE_FAILED_RETRY.value
    NO_DEPOSIT_ALLOWED = ReturnCode.NO_DEPOSIT_ALLOWED.value
    ALREADY_DISCHARGED = ReturnCode.ALREADY_DISCHARGED.value
    ID_NUMBER_REQUIRED = ReturnCode.ID_NUMBER_REQUIRED.value
    CARD_CANCELLED = ReturnCode.CARD_CANCELLED.value
    CARD_REPORTED_LOST = ReturnCode.CARD_REPORTED_LOST.value
    CARD_LOCKED = ReturnCode.CARD_LOCKED.value
    PHONE_REQUIRED = ReturnCode.PHONE_REQUIRED.value
    CARD_NOT_FOUND = ReturnCode.CARD_NOT_FOUND.value
    ITEM_EXECUTED_NO_REFUND = ReturnCode.ITEM_EXECUTED_NO_REFUND.value
    ALREADY_TRIAGED = ReturnCode.ALREADY_TRIAGED.value
    UNKNOWN_ERROR = ReturnCode.UNKNOWN_ERROR.value

    # Ours: a hospital gave no usable answer (a write's outcome is then unknown, except HIS_CIRCUIT_OPEN)
    HIS_TIMEOUT = "HIS_TIMEOUT"
    HIS_CONNECT_ERROR = "HIS_CONNECT_ERROR"
    HIS_HTTP_ERROR = "HIS_HTTP_ERROR"
    HIS_CIRCUIT_OPEN = "HIS_CIRCUIT_OPEN"
    HIS_PROTOCOL_ERROR = "HIS_PROTOCOL_ERROR"
    HIS_UNAVAILABLE = "HIS_UNAVAILABLE"
    # Ours: the gateway's own limits
    GATEWAY_BUSY = "GATEWAY_BUSY"
    HIS_CALL_BUDGET = "HIS_CALL_BUDGET"
    RATE_LIMITED = "RATE_LIMITED"
    # Ours: who is asking
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    SMS_CODE_INVALID = "SMS_CODE_INVALID"
    WRONG_PASSWORD = "WRONG_PASSWORD"  # noqa: S105  # a refusal code's name, not a password
    WEAK_PASSWORD = "WEAK_PASSWORD"  # noqa: S105  # a refusal code's name, not a password
    THROTTLED = "THROTTLED"
    SELF = "SELF"
    # Ours: money
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"
    NOT_CANCELLABLE = "NOT_CANCELLABLE"
    NOT_REFUNDABLE = "NOT_REFUNDABLE"
    NOT_ACTIONABLE = "NOT_ACTIONABLE"
    STALE_VERSION = "STALE_VERSION"
    NO_EVIDENCE = "NO_EVIDENCE"
    HOSPITAL_HAS_PAYMENT = "HOSPITAL_HAS_PAYMENT"
    HOSPITAL_LACKS_PAYMENT = "HOSPITAL_LACKS_PAYMENT"
    NOTHING_TO_REFUND = "NOTHING_TO_REFUND"
    # Ours: replaying a hospital's inbound call
    NO_HOSPITAL = "NO_HOSPITAL"
    MASKED_BODY = "MASKED_BODY"
    BODY_NOT_RECORDED = "BODY_NOT_RECORDED"
    NOT_A_SHIM = "NOT_A_SHIM"
    REGION_ONLY = "REGION_ONLY"
    SEAL_EXPIRED = "SEAL_EXPIRED"
    # Ours: the gateway's own limits (appended)
    FAN_OUT_LIMIT = "FAN_OUT_LIMIT"

    @classmethod
    def of(cls, wire: object) -> RefusalCode:
        """The member for a wire code ("60701", "HIS_TIMEOUT"); an unknown hospital code reads as UNKNOWN_ERROR."""
        text = str(wire.value if isinstance(wire, Enum) else wire).strip()
        try:
            return cls(text)
        except ValueError:
            return cls.UNKNOWN_ERROR

    @property
    def meaning(self) -> str:
        """What the code means, in English with the spec's Chinese: the enum value's description."""
        if self in _MEANINGS:
            return _MEANINGS[self]
        known = ReturnCode.parse(self.value)
        return known.meaning if known is not None else self.name

    @property
    def told(self) -> str:
        """The fixed Chinese words a patient reads for this code: never a hospital's own text."""
        if self in _TOLD:
            return _TOLD[self]
        known = ReturnCode.parse(self.value)
        return known.meaning if known is not None else _TRY_LATER


_MEANINGS: Final[dict[RefusalCode, str]] = {
    RefusalCode.HIS_TIMEOUT: "The hospital did not answer in time; a write's outcome is unknown.",
    RefusalCode.HIS_CONNECT_ERROR: "The hospital could not be reached; a write's outcome is unknown.",
    RefusalCode.HIS_HTTP_ERROR: "The hospital answered an HTTP error status; a write's outcome is unknown.",
    RefusalCode.HIS_CIRCUIT_OPEN: "The hospital is failing and was not called (circuit open): nothing was applied.",
    RefusalCode.HIS_PROTOCOL_ERROR: "The hospital's reply could not be read; a write's outcome is unknown.",
    RefusalCode.HIS_UNAVAILABLE: "The hospital gave no usable answer; a write's outcome is unknown.",
    RefusalCode.GATEWAY_BUSY: "The gateway is saturated: try again shortly (not the hospital's fault).",
    RefusalCode.HIS_CALL_BUDGET: "This request asked too many hospitals: ask fewer at once.",
    RefusalCode.RATE_LIMITED: "Too many operations from this caller: wait and try again.",
    RefusalCode.UNAUTHENTICATED: "Not signed in, or the session has ended: sign in (again).",
    RefusalCode.FORBIDDEN: "Signed in, but this caller may not do this.",
    RefusalCode.NOT_FOUND: "No such thing among those this caller may see.",
    RefusalCode.SMS_CODE_INVALID: "The SMS code is wrong, expired, used or out of attempts: ask for a new one.",
    RefusalCode.WRONG_PASSWORD: "The username or password is wrong.",
    RefusalCode.WEAK_PASSWORD: "The new password is too short (at least 12 characters) or unchanged.",
    RefusalCode.THROTTLED: "Too many attempts (codes, logins, cards): wait before trying again.",
    RefusalCode.SELF: "An operator cannot do this to their own account.",
    RefusalCode.PROVIDER_UNAVAILABLE: "The payment provider could not be reached: nothing was charged; try again.",
    RefusalCode.NOT_CANCELLABLE: "Only an order nothing was paid for may be cancelled.",
    RefusalCode.NOT_REFUNDABLE: "This payment may not be refunded (already refunded, seen, or not paid).",
    RefusalCode.NOT_ACTIONABLE: "The order does not wait for an operator (not parked, not past its retry window).",
    RefusalCode.STALE_VERSION: "The thing changed since it was read: read it again and decide.",
    RefusalCode.NO_EVIDENCE: "The hospital's side is not known (14.2.2 gave no answer).",
    RefusalCode.HOSPITAL_HAS_PAYMENT: "14.2.2 lists the payment at the hospital: not refunded, not sent again.",
    RefusalCode.HOSPITAL_LACKS_PAYMENT: "14.2.2 does not list the payment as complete: not marked notified.",
    RefusalCode.NOTHING_TO_REFUND: "Nothing paid online is left to refund.",
    RefusalCode.NO_HOSPITAL: "The call was refused before it was known which hospital it acted for.",
    RefusalCode.MASKED_BODY: "The recorded body is masked and no sealed copy is kept: ask the hospital to resend.",
    RefusalCode.BODY_NOT_RECORDED: "The request was not JSON: no body was recorded.",
    RefusalCode.NOT_A_SHIM: "No shim serves this path now.",
    RefusalCode.REGION_ONLY: "Only a region operator may do this.",
    RefusalCode.SEAL_EXPIRED: "The sealed copy has expired: ask the hospital to send the call again.",
    RefusalCode.FAN_OUT_LIMIT: "The request's fields ask more hospitals in all than one request may: ask fewer.",
}

_TOLD: Final[dict[RefusalCode, str]] = {
    RefusalCode.NO_DATA: "未查询到数据。",
    RefusalCode.SYSTEM_ERROR: _TRY_LATER,
    RefusalCode.DATABASE_ERROR: _TRY_LATER,
    RefusalCode.UNKNOWN_ERROR: _TRY_LATER,
    RefusalCode.BUSY: "医院系统繁忙，请稍后再试。",
    RefusalCode.HIS_TIMEOUT: "医院系统响应超时，请稍后再试。",
    RefusalCode.HIS_CONNECT_ERROR: "暂时无法连接医院系统，请稍后再试。",
    RefusalCode.HIS_HTTP_ERROR: "医院系统暂时无法访问，请稍后再试。",
    RefusalCode.HIS_CIRCUIT_OPEN: "医院系统暂时不可用，请稍后再试。",
    RefusalCode.HIS_PROTOCOL_ERROR: "医院系统返回的结果无法识别，请稍后再试。",
    RefusalCode.HIS_UNAVAILABLE: "医院系统暂时不可用，请稍后再试。",
    RefusalCode.GATEWAY_BUSY: "当前使用人数较多，请稍后再试。",
    RefusalCode.HIS_CALL_BUDGET: "一次查询的医院过多，请减少医院后再试。",
    RefusalCode.RATE_LIMITED: "操作过于频繁，请稍后再试。",
    RefusalCode.UNAUTHENTICATED: "请先登录。",
    RefusalCode.FORBIDDEN: "无权进行此操作。",
    RefusalCode.NOT_FOUND: "未找到相关记录。",
    RefusalCode.SMS_CODE_INVALID: "验证码错误或已失效，请重新获取。",
    RefusalCode.WRONG_PASSWORD: "用户名或密码错误。",
    RefusalCode.WEAK_PASSWORD: "新密码至少12位，且不能与原密码相同。",
    RefusalCode.THROTTLED: "尝试次数过多，请稍后再试。",
    RefusalCode.SELF: "不能对自己的账号进行此操作。",
    RefusalCode.PROVIDER_UNAVAILABLE: "支付服务暂时不可用，未扣款，请稍后再试。",
    RefusalCode.NOT_CANCELLABLE: "该订单已支付或已关闭，不能取消。",
    RefusalCode.NOT_REFUNDABLE: "该订单不能退款。",
    RefusalCode.NOT_ACTIONABLE: "该订单无需人工处理。",
    RefusalCode.STALE_VERSION: "订单状态已变化，请刷新后再处理。",
    RefusalCode.NO_EVIDENCE: "医院对账结果未知，暂不能处理。",
    RefusalCode.HOSPITAL_HAS_PAYMENT: "医院已有该笔支付记录，不能退款或重发。",
    RefusalCode.HOSPITAL_LACKS_PAYMENT: "医院没有该笔支付的完成记录，不能标记为已通知。",
    RefusalCode.NOTHING_TO_REFUND: "没有可退的线上支付金额。",
    RefusalCode.NO_HOSPITAL: "该调用未识别出医院，不能重放。",
    RefusalCode.MASKED_BODY: "该调用的内容已脱敏且未保存密封副本，请医院重新发送。",
    RefusalCode.BODY_NOT_RECORDED: "该调用不是JSON，未记录内容。",
    RefusalCode.NOT_A_SHIM: "该路径当前没有对应的接口。",
    RefusalCode.REGION_ONLY: "仅区域平台运营人员可以进行此操作。",
    RefusalCode.SEAL_EXPIRED: "该调用的密封副本已过期，请医院重新发送。",
    RefusalCode.FAN_OUT_LIMIT: "一次查询的医院过多，请减少医院后再试。",
}

OUTCOME_UNKNOWN: Final = frozenset(
    {
        RefusalCode.HIS_TIMEOUT,
        RefusalCode.HIS_CONNECT_ERROR,
        RefusalCode.HIS_HTTP_ERROR,
        RefusalCode.HIS_PROTOCOL_ERROR,
        RefusalCode.HIS_UNAVAILABLE,
    }
)
"""Codes after which a write may or may not have been applied: check its state before trying again."""


class Refused(Exception):
    """An expected refusal: the one base class every service and resolver raises for one.

    ``message`` is for the person who will read it (a patient in Chinese; defaults to the code's fixed words);
    ``field`` names the argument at fault as the client wrote it (``slot.date``), where there is one.
    Production passes these through and masks anything else.
    """

    def __init__(
        self,
        code: RefusalCode,
        message: str | None = None,
        *,
        field: str | None = None,
        hospital_id: str | None = None,
        **extra: Any,
    ) -> None:
        self.code = code
        self.message = message or code.told
        self.field = field
        self.hospital_id = hospital_id
        super().__init__(self.message)
        extensions: dict[str, Any] = {"code": code.value}
        if field is not None:
            extensions["field"] = field
        if hospital_id is not None:
            extensions["hospitalId"] = hospital_id
        extensions.update(extra)
        self.extensions = extensions

    @property
    def outcome_unknown(self) -> bool:
        return self.code in OUTCOME_UNKNOWN
