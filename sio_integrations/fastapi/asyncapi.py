"""The AsyncAPI 3.0 document of a router: namespaces are channels, events are messages.

Events the clients send are ``receive`` operations (the application's point of view), with
the handler's return annotation as the operation's reply (the acknowledgement); events
declared with ``router.emits(...)`` and the ``error`` event are ``send`` operations.
Payload schemas come from the handlers' annotations via Pydantic.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter

ASYNCAPI_VERSION = "3.0.0"
_REF_TEMPLATE = "#/components/schemas/{model}"

#: the payload of the ``error`` event (and of an error acknowledgement)
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "enum": ["validation_error", "http_error"]},
        "event": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {},
    },
    "required": ["error", "event"],
}


@dataclass
class _Event:
    arguments: list[Any]
    reply: Any
    description: str | None


@dataclass
class _Channel:
    namespace: str
    auth: Any = inspect.Parameter.empty
    receives: dict[str, _Event] = field(default_factory=dict)
    sends: dict[str, _Event] = field(default_factory=dict)


class Catalog:
    """What the router knows about its namespaces and events, for the document."""

    def __init__(self) -> None:
        self.channels: dict[str, _Channel] = {}

    def _channel(self, namespace: str) -> _Channel:
        return self.channels.setdefault(namespace, _Channel(namespace))

    def add_namespace(self, namespace: str, connect: Any) -> None:
        channel = self._channel(namespace)
        positional = connect.signature.positional
        if connect.func is not None and len(positional) >= 3:
            channel.auth = positional[2].annotation

    def add_event(self, namespace: str, event: str, handler: Any) -> None:
        arguments = [p.annotation for p in handler.signature.positional[1:]]
        self._channel(namespace).receives[event] = _Event(
            arguments, handler.signature.return_annotation, inspect.getdoc(handler.func))

    def add_emit(self, namespace: str, event: str, payload: Any,
                 description: str | None) -> None:
        self._channel(namespace).sends[event] = _Event([payload], None, description)

    def document(self, *, title: str, version: str, path: str) -> dict[str, Any]:
        """The AsyncAPI 3.0 document (a JSON-able dict)."""
        builder = _Builder()
        for channel in self.channels.values():
            builder.add_channel(channel)
        return {
            "asyncapi": ASYNCAPI_VERSION,
            "info": {
                "title": title,
                "version": version,
                "description": f"Socket.IO (protocol v5) served at {path}; each channel is a "
                               "namespace, each message an event.",
            },
            "defaultContentType": "application/json",
            "channels": builder.channels,
            "operations": builder.operations,
            "components": {"messages": builder.messages, "schemas": builder.schemas},
        }


def _key(text: str) -> str:
    """A component key (AsyncAPI allows letters, digits, ``.``, ``-`` and ``_``)."""
    return re.sub(r"[^\w.\-]", "_", text) or "_"


class _Builder:
    def __init__(self) -> None:
        self.channels: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}
        self.schemas: dict[str, Any] = {}

    def schema(self, annotation: Any) -> dict[str, Any]:
        if annotation is inspect.Parameter.empty or annotation is Any:
            return {}
        if annotation is None or annotation is type(None):
            return {"type": "null"}
        schema = TypeAdapter(annotation).json_schema(ref_template=_REF_TEMPLATE)
        self.schemas.update(schema.pop("$defs", {}))
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            # a model is a named component, referenced from every message using it
            name = _key(annotation.__name__)
            self.schemas[name] = schema
            return {"$ref": _REF_TEMPLATE.format(model=name)}
        return schema

    def payload(self, arguments: list[Any]) -> dict[str, Any]:
        if len(arguments) == 1:
            return self.schema(arguments[0])
        if not arguments:
            return {"type": "array", "maxItems": 0}  # an event without arguments
        # several arguments travel as the event's argument list
        items = [self.schema(a) for a in arguments]
        return {"type": "array", "items": items, "minItems": len(items),
                "maxItems": len(items)}

    def message(self, channel_id: str, name: str, payload: dict[str, Any],
                description: str | None) -> dict[str, str]:
        key = f"{channel_id}.{_key(name)}"
        message: dict[str, Any] = {"name": name, "title": name, "payload": payload}
        if description:
            message["description"] = description
        self.messages[key] = message
        self.channels[channel_id]["messages"][_key(name)] = {
            "$ref": f"#/components/messages/{key}"}
        return {"$ref": f"#/channels/{channel_id}/messages/{_key(name)}"}

    def operation(self, channel_id: str, name: str, action: str, message: dict[str, str],
                  reply: dict[str, str] | None = None) -> None:
        operation: dict[str, Any] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [message],
        }
        if reply is not None:
            operation["reply"] = {"channel": {"$ref": f"#/channels/{channel_id}"},
                                  "messages": [reply]}
        self.operations[f"{channel_id}.{action}.{_key(name)}"] = operation

    def add_channel(self, channel: _Channel) -> None:
        channel_id = _key(channel.namespace.strip("/") or "root")
        self.channels[channel_id] = {
            "address": channel.namespace,
            "title": f"namespace {channel.namespace}",
            "messages": {},
        }
        if channel.auth is not inspect.Parameter.empty:
            ref = self.message(channel_id, "connect", self.schema(channel.auth),
                               "the auth payload of the namespace connection")
            self.operation(channel_id, "connect", "receive", ref)
        for name, event in channel.receives.items():
            ref = self.message(channel_id, name, self.payload(event.arguments),
                               event.description)
            reply = None
            if event.reply is not inspect.Parameter.empty and event.reply is not None:
                reply = self.message(channel_id, f"{name}.ack", self.schema(event.reply),
                                     f"the acknowledgement of {name}")
            self.operation(channel_id, name, "receive", ref, reply)
        for name, event in channel.sends.items():
            ref = self.message(channel_id, name, self.payload(event.arguments),
                               event.description)
            self.operation(channel_id, name, "send", ref)
        if channel.receives:
            ref = self.message(channel_id, "error", dict(ERROR_SCHEMA),
                               "sent when an event is refused and no ack was requested")
            self.operation(channel_id, "error", "send", ref)
