"""The one shape of an expected refusal in GraphQL: ``Refusal { code: RefusalCode!, message, field, ... }``.

A mutation's result is a union of its success and ``Refusal``; a query's refusal is a GraphQL error whose
``extensions.code`` is the code's wire value. Both come from ``services.refusals.Refused``.
"""

from __future__ import annotations

import strawberry

from services.refusals import RefusalCode as _RefusalCode
from services.refusals import Refused

RefusalCode = strawberry.enum(
    _RefusalCode,
    name="RefusalCode",
    description=(
        "Why something was refused: the spec's 附四 return codes (接口返回代码对照关系; each value names its number) "
        "and our own. The same code's wire value (the 附四 number, or our name) is `extensions.code` on errors."
    ),
)
# The enum lives in services (no strawberry there), so its values get their GraphQL descriptions here.
for _value in RefusalCode.__strawberry_definition__.values:  # type: ignore[attr-defined]  # set by strawberry.enum
    _member = _RefusalCode(_value.value)
    _number = f"附四 {_member.value}: " if _member.value.isdigit() else ""
    _value.description = f"{_number}{_member.meaning}"


@strawberry.type(
    description=(
        "An expected refusal, the one shape every mutation's result union shares: the code to act on, a Chinese "
        "message a patient can read (never a hospital's own text or an internal state), and the argument at fault. "
        "It names no hospital: a write goes to the one hospital its hospitalId named, so a client selects "
        "hospitalId on the success and the Refusal alike without an alias conflict."
    )
)
class Refusal:
    code: _RefusalCode = strawberry.field(description="Why: a 附四 code or one of ours (see RefusalCode).")
    message: str = strawberry.field(description="What went wrong, in Chinese words a patient can read.")
    field: str | None = strawberry.field(
        description="The argument at fault, as named in the GraphQL input (e.g. slot.date), when one is."
    )
    outcome_unknown: bool = strawberry.field(
        description=(
            "True when a hospital gave no usable answer to a write (timeout, connection, malformed reply): it may "
            "or may not have been applied, so check its state before trying again. False otherwise."
        )
    )

    @classmethod
    def of(cls, refused: Refused) -> Refusal:
        return cls(
            code=refused.code,
            message=refused.message,
            field=refused.field,
            outcome_unknown=refused.outcome_unknown,
        )
