"""``@frozen``: a frozen dataclass for what is made once, at import, at a hundredth of its import cost.

``dataclasses.dataclass`` writes and compiles its methods' source for each class (about 0.7 ms for a
frozen one): the providers' dozen classes alone cost ``import fake_leaf`` several milliseconds.
``@frozen`` gives the same keyword and positional ``__init__`` (with ``__post_init__``), ``__repr__``,
``__eq__``, ``__hash__`` and read-only fields from generic methods, compiled once. Its ``__init__``
binds arguments in Python, so it suits classes made a few dozen times (the providers, their fields and
upstreams), not records made per request. Type checkers see a frozen dataclass.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:
    def dataclass_transform(**_: object) -> Callable[[Any], Any]:
        return lambda decorator: decorator

T = TypeVar("T")
_NO_DEFAULT = object()


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    names: tuple[str, ...] = cls.__match_args__
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__}() takes {len(names)} arguments, got {len(args)}")
    values = dict(zip(names, args, strict=False))  # more arguments than fields: refused above
    for name, value in kwargs.items():
        if name not in names:
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {name!r}")
        if name in values:
            raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
        values[name] = value
    defaults: dict[str, object] = cls._record_defaults
    for name in names:
        value = values.get(name, defaults.get(name, _NO_DEFAULT))
        if value is _NO_DEFAULT:
            raise TypeError(f"{cls.__name__}() missing required argument: {name!r}")
        object.__setattr__(self, name, value)
    post_init = getattr(self, "__post_init__", None)
    if post_init is not None:
        post_init()


def _values(self: Any) -> tuple[object, ...]:
    return tuple(getattr(self, name) for name in type(self).__match_args__)


def _repr(self: Any) -> str:
    fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self).__match_args__)
    return f"{type(self).__qualname__}({fields})"


def _eq(self: Any, other: object) -> object:  # a bool, or NotImplemented
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self) == _values(other)


def _hash(self: Any) -> int:
    return hash(_values(self))


def _refuse(self: Any, name: str, *_: object) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


@dataclass_transform(frozen_default=True)
def frozen(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen record of its annotated fields, in order (a default is its class attribute)."""
    names = tuple(name for name in inspect.get_annotations(cls) if not name.startswith("_"))
    defaults = {name: cls.__dict__[name] for name in names if name in cls.__dict__}
    for name in defaults:
        delattr(cls, name)  # the instance holds the value: a class attribute would shadow nothing, but mislead
    methods: dict[str, object] = {"__match_args__": names, "_record_defaults": defaults, "__init__": _init,
                                  "__repr__": _repr, "__eq__": _eq, "__hash__": _hash, "__setattr__": _refuse,
                                  "__delattr__": _refuse}
    for name, method in methods.items():
        setattr(cls, name, method)
    return cls
