"""The spec's return codes (附四 接口返回代码对照关系), one enum for hospitals' replies and our shims.

The meanings are the spec's own words (from dictionaries.json); the member names are ours.
A test holds this table equal to the catalog.
"""

from __future__ import annotations

from enum import StrEnum


class ReturnCode(StrEnum):
    """A 附四 code. ``ReturnCode("60101").meaning`` gives the spec's wording."""

    meaning: str

    def __new__(cls, code: str, meaning: str) -> ReturnCode:
        member = str.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        return member

    SUCCESS = "10001", "成功"
    NO_DATA = (
        "10002",
        (
            "未查询到数据；退款业务的10002表示实际退款状态不明，此情况客户端需要重试退款，或经由人工核，"
            "不能直接按照退款未成功处理。（退款接口见：13.2.1、20.2.2、21.1.7）"
        ),
    )
    SYSTEM_ERROR = "10003", "系统错误"
    MISSING_PARAMETER = "20001", "缺少参数"
    PARAMETER_TYPE = "20002", "参数类型错误"
    PARAMETER_FORMAT = "20003", "参数无效或格式错误"
    PARAMETER_RANGE = "20004", "参数超出范围"
    CARD_NOT_FOUND_20215 = "20215", "卡号信息不存在"
    DATABASE_ERROR = "30001", "数据库操作异常"
    BUSY = "40001", "系统繁忙"
    NOT_ALLOWED = "40002", "接口不允许调用"
    NOT_OPENED = "40003", "医院没有开通本接口"
    PROCESSING = "40004", "业务处理中"
    UNAUTHORIZED = "50001", "无权访问该接口"
    HOSPITAL_NOT_FOUND = "60001", "医院信息不存在"
    DOCTOR_NOT_FOUND = "60002", "医生信息不存在"
    CARD_NO_ONLINE_PAYMENT = "60101", "该卡不允许线上交费"
    PENDING_BILL_NOT_FOUND = "60102", "待交费信息不存在，无法完成支付"
    AMOUNT_MISMATCH = "60103", "待交费金额合计和支付金额合计不一致"
    CHARGE_ITEM_NOT_FOUND = "60104", "收费项目不存在"
    REGISTRATION_EXEMPT = "60201", "特殊人群免挂号"
    REGISTRATION_FEE_MISMATCH = "60202", "挂号金额与院内金额不一致"
    ALREADY_SEEN_NO_REFUND = "60203", "已就诊，无法退挂号费"
    REGISTRATION_NOT_FOUND = "60204", "要取消的挂号记录不存在"
    SLOTS_FULL = "60205", "号源已满"
    DOCTOR_STOPPED = "60206", "医生已停诊"
    SEX_RESTRICTED = "60207", "由于性别限制，您不适合挂此科室"
    AGE_RESTRICTED = "60208", "由于年龄限制，您不适合挂此科室"
    CHECK_IN_PASSED = "60209", "已超过报到时间，不允许取消"
    REGISTRATION_LIMIT = "60210", "挂号次数超出限制"
    DEPT_DAILY_APPOINTMENT_LIMIT = "60211", "已超出同一科室每天预约次数限制"
    DOCTOR_DAILY_APPOINTMENT_LIMIT = "60212", "已超出同一医生每天预约次数限制"
    DEPT_DAILY_REGISTRATION_LIMIT = "60213", "已超出同一科室每天挂号次数限制"
    DOCTOR_DAILY_REGISTRATION_LIMIT = "60214", "已超出同一医生每天挂号次数限制"
    CARD_NO_ONLINE_RECHARGE = "60301", "该卡不允许线上充值"
    BUSINESS_NOT_OPENED = "60302", "未开通此业务"
    RECHARGE_FAILED_RETRY = "60303", "充值失败，可以继续调用充值接口尝试充值"
    NO_DEPOSIT_ALLOWED = "60401", "该就诊人不允许交住院押金"
    ALREADY_DISCHARGED = "60402", "该就诊人已出院"
    ID_NUMBER_REQUIRED = "60501", "身份证号不能为空"
    CARD_CANCELLED = "60502", "卡已注销"
    CARD_REPORTED_LOST = "60503", "卡已挂失"
    CARD_LOCKED = "60504", "卡已锁定"
    PHONE_REQUIRED = "60505", "手机号不能为空"
    CARD_NOT_FOUND = "60506", "卡号信息不存在"
    ITEM_EXECUTED_NO_REFUND = "60601", "项目已执行，不可退款"
    ALREADY_TRIAGED = "60701", "已分诊，同一诊室/医生不能重复分诊，请到分诊台处理"
    UNKNOWN_ERROR = "90001", "系统未知错误"

    @classmethod
    def parse(cls, raw: object) -> ReturnCode | None:
        """Read a code leniently (``10001``, ``"10001"``, ``" 10001 "``); None when it is not in 附四."""
        text = str(raw).strip() if raw is not None else ""
        member = cls._value2member_map_.get(text)
        return member if isinstance(member, cls) else None
