"""The AsyncAPI 3.0 document, validated against the official JSON Schema (@asyncapi/specs)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from fastapi.testclient import TestClient

from .chatapp import make_app
from .nodejs import node_modules


def _official_schema() -> dict[str, Any]:
    path = node_modules() / "@asyncapi" / "specs" / "schemas" / "3.0.0.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def test_document_is_valid_asyncapi_3() -> None:
    app, _, _ = make_app()
    with TestClient(app) as http:
        response = http.get("/asyncapi.json")
    assert response.status_code == 200
    document = response.json()
    jsonschema.validate(document, _official_schema(),
                        cls=jsonschema.Draft7Validator)
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "chat test"
    assert document["info"]["version"] == "1.2.3"


def test_document_describes_events_payloads_and_acks() -> None:
    app, _, _ = make_app()
    with TestClient(app) as http:
        document = http.get("/asyncapi.json").json()
    root = document["channels"]["root"]
    assert root["address"] == "/"
    assert set(root["messages"]) >= {"say", "say.ack", "add", "join", "upload", "said",
                                     "error"}
    say = document["operations"]["root.receive.say"]
    assert say["action"] == "receive"
    assert say["reply"]["messages"] == [{"$ref": "#/channels/root/messages/say.ack"}]
    message = document["components"]["messages"]["root.say"]
    assert message["description"] == "Send a message to a room."
    assert message["payload"] == {"$ref": "#/components/schemas/Message"}
    model = document["components"]["schemas"]["Message"]
    assert model["required"] == ["room", "text"]
    assert model["properties"]["text"]["maxLength"] == 200
    add = document["components"]["messages"]["root.add"]["payload"]
    assert add["type"] == "array" and add["items"] == [{"type": "integer"}] * 2
    said = document["operations"]["root.send.said"]
    assert said["action"] == "send"
    # the dependencies (user, resource) are not part of any payload
    assert "user" not in json.dumps(document["components"]["messages"]["root.whoami"])


def test_invalid_document_is_rejected_by_the_schema() -> None:
    """The check has teeth: a broken document fails it."""
    app, router, _ = make_app()
    document = router.asyncapi(app)
    document["operations"]["root.receive.say"]["action"] = "publish"  # AsyncAPI 2 wording
    validator = jsonschema.Draft7Validator(_official_schema())
    assert not validator.is_valid(document)
