"""Graph objects whose fields are converted from a hospital's reply when first read, not all when made.

A fan-out's entry lists a hospital's records (a bill's items, say), each of ten or more fields: amounts, instants,
codes. A query asks for a few of them (the mini-program's list asks an item's id and amount), yet converting every
field of every record was about an eighth of what one more hospital cost a request (issue 13 item 2).

``lazy_maker(cls, converters)`` gives a function making ``cls`` objects from a source (a reply's record): each of
the dataclass's fields is converted by its converter the first time it is read, and kept on the object. The object
is an instance of a subclass of ``cls`` made once, so ``isinstance`` (Strawberry's ``is_type_of``), the type's
resolvers and its GraphQL type are ``cls``'s. The converters must name exactly the fields ``cls`` is made with: a
field left out would be missing, a name too many would shadow something else; either is a TypeError at import.
Converters must not fail (the reply has been validated; what cannot be read converts to null, as before), since
a failure would now surface at the field read rather than when the entry is made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

T = TypeVar("T")

_SOURCE: Final = "_lazy_source"
_set_attribute = object.__setattr__


class _Converted:
    """A non-data descriptor: the field converted from the object's source on first read, then kept on the object
    (the instance's own attribute is found before a non-data descriptor, so the conversion runs once)."""

    __slots__ = ("convert", "name")

    def __init__(self, name: str, convert: Callable[[Any], Any]) -> None:
        self.name = name
        self.convert = convert

    def __get__(self, obj: object | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        attributes = obj.__dict__
        value = self.convert(attributes[_SOURCE])
        attributes[self.name] = value
        return value


def lazy_maker(cls: type[T], converters: Mapping[str, Callable[[Any], Any]]) -> Callable[[Any], T]:
    """A maker of ``cls`` objects whose fields are read from a source by ``converters`` when first read."""
    fields = {field.name for field in dataclasses.fields(cls) if field.init}  # type: ignore[arg-type]
    if set(converters) != fields:
        missing, extra = sorted(fields - set(converters)), sorted(set(converters) - fields)
        raise TypeError(f"{cls.__name__}: converters for {missing} missing, for {extra} not fields")
    namespace: dict[str, Any] = {name: _Converted(name, convert) for name, convert in converters.items()}
    namespace.update(__module__=cls.__module__, __qualname__=cls.__qualname__, __doc__=cls.__doc__)
    lazy: type[T] = type(cls.__name__, (cls,), namespace)
    new = object.__new__

    def make(source: Any) -> T:
        made: T = new(lazy)
        _set_attribute(made, _SOURCE, source)
        return made

    return make


__all__ = ["lazy_maker"]
