"""Payload validation of Socket.IO arguments with Pydantic, and serialisation of results.

Each annotated Socket.IO argument is validated with a ``pydantic.TypeAdapter`` built once
at registration; ``Any`` or unannotated arguments pass through untouched.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, TypeAdapter, ValidationError


@dataclass(frozen=True)
class ArgumentSpec:
    """One Socket.IO argument of a handler: its name and (optional) validator."""

    name: str
    adapter: TypeAdapter[Any] | None
    required: bool
    default: Any = None


def argument_specs(parameters: Sequence[inspect.Parameter]) -> list[ArgumentSpec]:
    """Validators for ``parameters`` (unannotated / ``Any`` ones are not validated)."""
    specs = []
    for param in parameters:
        annotation = param.annotation
        adapter = None
        if annotation is not inspect.Parameter.empty and annotation is not Any:
            adapter = TypeAdapter(annotation)
        required = param.default is inspect.Parameter.empty
        specs.append(ArgumentSpec(param.name, adapter, required,
                                  None if required else param.default))
    return specs


class PayloadError(Exception):
    """The client's arguments did not validate; ``errors`` is JSON-serialisable."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} validation error(s)")
        self.errors = errors


def validate_arguments(specs: Sequence[ArgumentSpec], args: Sequence[Any],
                       extra_allowed: bool) -> list[Any]:
    """Validated positional values for ``args`` (errors name the argument by position)."""
    errors: list[dict[str, Any]] = []
    values: list[Any] = []
    for index, spec in enumerate(specs):
        if index >= len(args):
            if spec.required:
                errors.append({"type": "missing", "loc": [index, spec.name],
                               "msg": "Missing argument"})
            else:
                values.append(spec.default)
            continue
        value = args[index]
        if spec.adapter is not None:
            try:
                value = spec.adapter.validate_python(value)
            except ValidationError as exc:
                errors.extend(_errors(exc, [index, spec.name]))
                continue
        values.append(value)
    if len(args) > len(specs):
        if extra_allowed:
            values.extend(args[len(specs):])
        else:
            errors.append({"type": "extra_arguments", "loc": [len(specs)],
                           "msg": f"Expected at most {len(specs)} argument(s), "
                                  f"got {len(args)}"})
    if errors:
        raise PayloadError(errors)
    return values


def _errors(exc: ValidationError, prefix: list[Any]) -> list[dict[str, Any]]:
    found = exc.errors(include_url=False, include_context=False, include_input=False)
    return [{"type": e["type"], "loc": [*prefix, *e["loc"]], "msg": e["msg"]} for e in found]


def validation_errors(exc: Exception) -> list[dict[str, Any]]:
    """JSON-able errors of a FastAPI ``RequestValidationError`` (dependency inputs)."""
    raw: list[dict[str, Any]] = list(getattr(exc, "errors", lambda: [])())
    cleaned = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in raw]
    result: list[dict[str, Any]] = jsonable_encoder(cleaned)
    return result


def serialise(value: Any) -> Any:
    """A handler's return value ready for the wire: models become JSON-able dicts.

    ``bytes`` outside models stay binary; tuples (several ack arguments) are kept.
    """
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, tuple):
        return tuple(serialise(v) for v in value)
    if isinstance(value, list):
        return [serialise(v) for v in value]
    if isinstance(value, dict):
        return {k: serialise(v) for k, v in value.items()}
    return value
