"""Base classes and field types for the models of every HIS method.

Hospitals' replies are messy (numbers as strings, empty strings, keys with stray spaces such as
``"isPositive "``, ``idcard`` where the spec says ``idCard``): replies are read leniently.
Requests are written strictly: exactly the spec's names, money with two decimal places.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Final, Literal, TypeVar, get_args

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

T = TypeVar("T")

CENT = Decimal("0.01")
_PRESENT: Final = object()  # what a key a reply leaves out is read as: neither None nor blank


def _read_decimal(value: Any) -> Any:
    """Money and counts arrive as ``"23.5"``, ``23.5``, ``""`` or ``null``: empty means absent."""
    if type(value) is str:
        try:  # the common case, plain digits (Decimal itself allows the surrounding blanks stripped below)
            return Decimal(value)
        except InvalidOperation:
            pass  # "", "1,234.50", "¥23", "23元": read below
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # repr gives the shortest text that round-trips, so 23.5 becomes Decimal("23.5"), not a binary tail.
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip().replace(",", "").removeprefix("¥").removesuffix("元").strip()
        if text == "":
            return None
        try:
            return Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(f"not an amount: {value!r}") from exc
    raise ValueError(f"not an amount: {value!r}")


def render_money(amount: Decimal) -> str:
    """Yuan with at least two decimal places; finer unit prices (up to four places) keep their digits."""
    # Most amounts are already plain text with 0-2 places ("65", "65.1", "65.10"): padded as quantize would.
    text = str(amount)
    # At most 26 characters: at most 26 integer digits, so the two places stay within quantize's 28 digits (a
    # longer amount takes quantize's path below, and its refusal, as before).
    if len(text) <= 26 and "E" not in text and text[-1].isdigit():
        dot = text.find(".")
        if dot == -1:
            return text + ".00"
        places = len(text) - dot - 1
        if places == 2:
            return text
        if places == 1:
            return text + "0"
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))
    return str(amount.normalize()) if amount == amount.to_integral_value() else str(amount)


def _read_int(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        try:
            number = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(f"not a whole number: {value!r}") from exc
        if number != number.to_integral_value():
            raise ValueError(f"not a whole number: {value!r}")
        return int(number)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _read_list(value: Any) -> Any:
    """A list may arrive as null, ``""`` or a single object."""
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        return [value]
    return value


_LenientMoney = Annotated[Decimal, BeforeValidator(_read_decimal)]

Money = Annotated[
    Decimal | _LenientMoney,
    Field(union_mode="left_to_right"),
    PlainSerializer(render_money, return_type=str),
]
"""Yuan, read leniently, written as ``"23.50"``. Never a float.

Plain amounts (``"23.50"``, ``23.5``, ``7``) are read by pydantic's own Decimal, without a Python call; what it
refuses (``""``, ``"1,234.50"``, ``"¥23"``, ``"23元"``, ``NaN``, a boolean) goes to ``_read_decimal``, which reads
it or refuses it as before. Both read a plain amount alike (tests/his_clients/test_models_lenient.py)."""

Int = Annotated[int, BeforeValidator(_read_int)]
"""A whole number that may arrive as a string."""

Str = str
"""Text that may arrive as a number (``"serialNumber": 1``); surrounding whitespace removed.

Both are done natively by pydantic through ``HisReply``'s config (``coerce_numbers_to_str``,
``str_strip_whitespace``): a Python validator per text field costs about a microsecond each, and a
fan-out over fifty hospitals reads thousands of them."""

List = Annotated[list[T], BeforeValidator(_read_list)]
"""A list that may arrive as null, an empty string or a single object."""


DateTime = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")]
"""Request text in the spec's ``yyyy-MM-dd HH:mm:ss``."""

Date = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
"""Request text in the spec's ``yyyy-MM-dd``."""

CompactDate = Annotated[str, StringConstraints(pattern=r"^\d{8}$")]
"""Request text in the spec's ``yyyyMMdd``."""

HourMinute = Annotated[str, StringConstraints(pattern=r"^\d{2}:\d{2}$")]
"""Request text in the spec's ``HH:mm``."""


# fmt: off
NationCode = Literal[
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14",
    "15", "16", "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28",
    "29", "30", "31", "32", "33", "34", "35", "36", "37", "38", "39", "40", "41", "42",
    "43", "44", "45", "46", "47", "48", "49", "50", "51", "52", "53", "54", "55", "56",
]
# fmt: on
"""A code of the spec's 附一 民族字典 (01 汉族 … 56 基诺族): 1.2.3 and 1.2.4 send nothing else."""

RelationCode = Literal["01", "02", "03", "04", "05"]
"""A code of the spec's 附五 亲属关系字典: 01 父亲, 02 母亲, 03 儿子, 04 女儿, 05 其他."""


def _is_text(annotation: Any) -> bool:
    """``Str``, and also ``Str | None``, whose ``str`` sits inside the union's Annotated member."""
    return annotation is str or any(arg is str or _is_text(arg) for arg in get_args(annotation))


def _field_keys(model: type[BaseModel]) -> dict[str, str]:
    """Every spelling a reply may use for each field, lower-cased, mapped to the name pydantic expects."""
    keys: dict[str, str] = {}
    for name, field in model.model_fields.items():
        target = field.alias or name
        spellings = [name, target]
        if isinstance(field.validation_alias, AliasChoices):
            spellings += [c for c in field.validation_alias.choices if isinstance(c, str)]
        elif isinstance(field.validation_alias, str):
            spellings.append(field.validation_alias)
        for spelling in spellings:
            keys.setdefault(spelling.lower(), spelling if spelling != name else target)
    return keys


class HisReply(BaseModel):
    """A hospital's reply (the ``data`` of the envelope, or one record of it), read leniently.

    Keys are matched after stripping whitespace and ignoring case, unknown keys are ignored and
    ``""`` counts as absent for anything that is not text.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        coerce_numbers_to_str=True,
        str_strip_whitespace=True,
    )

    _keys: ClassVar[dict[str, str]]
    _exact: ClassVar[frozenset[str]]
    _blank_is_absent: ClassVar[frozenset[str]]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._keys = _field_keys(cls)
        cls._exact = frozenset(field.alias or name for name, field in cls.model_fields.items())
        # Text the spec gives a default for ("若无此字段，默认…") is absent when blank, so the default applies.
        cls._blank_is_absent = frozenset(
            field.alias or name
            for name, field in cls.model_fields.items()
            if not _is_text(field.annotation) or isinstance(field.default, str)
        )

    @model_validator(mode="before")
    @classmethod
    def _normalise_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        keys, exact, blank_is_absent = cls._keys, cls._exact, cls._blank_is_absent
        if exact.issuperset(data):
            # Every key spelt as the spec spells it (so no two spell one field): only a field whose blank means
            # absent can be dropped below, so only those values are looked at.
            for key in blank_is_absent:
                value = data.get(key, _PRESENT)
                if value is None or (isinstance(value, str) and not value.strip()):
                    break
            else:  # the common case: nothing to drop; read as it came
                return data
        normalised: dict[str, Any] = {}
        for key, value in data.items():
            if key in exact:  # the common case: the hospital spelt it as the spec does
                target = key
            elif isinstance(key, str):
                clean = key.strip()
                target = keys.get(clean.lower(), clean)
            else:
                target = key
            if (value is None or (isinstance(value, str) and not value.strip() and target in blank_is_absent)) and (
                target in normalised or target in blank_is_absent
            ):
                continue  # absent; and a duplicate spelling never erases a value already read
            normalised[target] = value
        return normalised

    def to_wire(self) -> dict[str, Any]:
        """The reply as the spec writes it (used by tests and by our own shims)."""
        return self.model_dump(by_alias=True, mode="json", exclude_none=True)


class HisRequest(BaseModel):
    """A request to a hospital, written strictly with the spec's parameter names."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    also_sent_as: ClassVar[dict[str, str]] = {}
    """{wire name: second name}: where the spec's table and example name a parameter differently and a
    hospital may have built to either, the value goes out under both (33.1.5 outOrderId / hosRecordId)."""

    def to_wire(self) -> dict[str, Any]:
        """The JSON body as the spec names it; absent optional fields are left out."""
        wire = self.model_dump(by_alias=True, mode="json", exclude_none=True)
        for name, second in self.also_sent_as.items():
            if name in wire:
                wire.setdefault(second, wire[name])
        return wire
