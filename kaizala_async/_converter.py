"""The one cattrs converter every model goes through.

* Python ``snake_case`` attributes <-> wire ``lowerCamelCase`` keys.
* Incoming keys are matched case-insensitively and unknown keys are ignored (API reference: responses may
  use other casings, e.g. ``ReactionId``; the service adds fields over time).
* ``datetime`` <-> epoch milliseconds (API reference, "Identifiers and value formats"); ISO 8601 strings
  and epoch seconds are accepted on the way in.
* Booleans accept ``"true"``/``"false"`` strings; `Secret` wraps token strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._secrets import Secret

__all__ = ["converter", "epoch_ms", "structure", "to_camel", "unstructure"]

T = TypeVar("T")

#: Epoch values below this are seconds, not milliseconds (year 5138 in seconds).
_SECONDS_CUTOFF = 100_000_000_000


def to_camel(name: str) -> str:
    """``access_token_expiry`` -> ``accessTokenExpiry``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _structure_datetime(value: object, _: type) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise TypeError("a boolean is not a time")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= _SECONDS_CUTOFF else value
        return datetime.fromtimestamp(seconds, UTC)
    raise TypeError(f"cannot read a time from {value!r}")


def epoch_ms(value: datetime) -> int:
    """A time as the service's epoch milliseconds."""
    return round(value.timestamp() * 1000)


def _structure_bool(value: object, _: type) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise TypeError(f"not a boolean: {value!r}")


def _structure_str(value: object, _: type) -> str:
    """Text, or a whole number given for it (ids are sometimes numbers); cattrs' own hook calls
    ``str()`` on anything, so a null id became ``"None"`` and an object its ``repr``."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected text, got {type(value).__name__}")


def _structure_secret(value: object, _: type) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    raise TypeError("a secret must be a string")


def _attrs_structure_factory(
    conv: cattrs.Converter,
) -> Callable[[type[Any]], Callable[[Any, type], Any]]:
    def factory(cls: type[Any]) -> Callable[[Any, type], Any]:
        fields = attrs.fields(cls)
        overrides = {f.name: override(rename=to_camel(f.alias or f.name)) for f in fields}
        inner = make_dict_structure_fn(cls, conv, **overrides)  # type: ignore[arg-type]
        canonical = {
            to_camel(f.alias or f.name).lower(): to_camel(f.alias or f.name) for f in fields
        }
        # A null for a field with a default means "not given": the default, not ``"None"``.
        defaulted = {to_camel(f.alias or f.name) for f in fields if f.default is not attrs.NOTHING}

        def structure_case_insensitively(value: Any, target: type) -> Any:
            if not isinstance(value, Mapping):
                raise TypeError(
                    f"expected a JSON object for {cls.__name__}, got {type(value).__name__}"
                )
            data: dict[str, Any] = {}
            for key, item in value.items():
                name = canonical.get(str(key).lower())
                if item is None and name in defaulted:
                    continue
                if name is not None and (name not in data or key == name):
                    data[name] = item
            return inner(data, target)

        return structure_case_insensitively

    return factory


def _attrs_unstructure_factory(
    conv: cattrs.Converter,
) -> Callable[[type[Any]], Callable[[Any], Any]]:
    def factory(cls: type[Any]) -> Callable[[Any], Any]:
        overrides = {
            f.name: override(rename=to_camel(f.alias or f.name), omit_if_default=f.default is None)
            for f in attrs.fields(cls)
        }
        return make_dict_unstructure_fn(cls, conv, **overrides)  # type: ignore[arg-type]

    return factory


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, epoch_ms)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(Secret, _structure_secret)
    conv.register_unstructure_hook(Secret, lambda s: s.reveal())
    conv.register_structure_hook_factory(attrs.has, _attrs_structure_factory(conv))
    conv.register_unstructure_hook_factory(attrs.has, _attrs_unstructure_factory(conv))
    return conv


#: The converter. Resource modules use `structure` and `unstructure`.
converter = _make_converter()


def structure(data: object, cls: type[T]) -> T:
    """Decode JSON ``data`` into ``cls``."""
    return converter.structure(data, cls)


def unstructure(value: object) -> Any:
    """Encode a model as JSON-ready data (camelCase keys, epoch-ms times, optional Nones dropped)."""
    return converter.unstructure(value)
