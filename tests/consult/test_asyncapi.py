"""The signalling socket's AsyncAPI document (consult/asyncapi.yaml, /api/schema/asyncapi/):
well formed, every payload a JSON Schema with valid examples, the same message types and close
codes as consult/signalling.py, and what a real session sends matches it."""

import ast
import copy
import json
from pathlib import Path

import pytest
import yaml
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from jsonschema import Draft202012Validator, FormatChecker

from consult import recording, signalling
from consult.api.asyncapi import DOCUMENT, asyncapi_document
from consult.routing import websocket_urlpatterns
from tests.consult.rooms import make_room
from tests.second_factor import verified_session

ROOT = Path(__file__).resolve().parents[2]
DOC = asyncapi_document()


def resolve(pointer: str):
    assert pointer.startswith("#/"), f"only local references: {pointer}"
    node = DOC
    for part in pointer[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{pointer} does not resolve"
        node = node[part]
    return node


def inlined(node):
    """`node` with every $ref replaced by what it points at (the document has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return inlined(copy.deepcopy(resolve(node["$ref"])))
        return {key: inlined(value) for key, value in node.items()}
    if isinstance(node, list):
        return [inlined(value) for value in node]
    return node


def refs(node, found=None):
    found = [] if found is None else found
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                found.append(value)
            else:
                refs(value, found)
    elif isinstance(node, list):
        for value in node:
            refs(value, found)
    return found


def messages_by_action(action: str) -> dict[str, list[dict]]:
    """type -> the message objects of every operation with this action."""
    found: dict[str, list[dict]] = {}
    for operation in DOC["operations"].values():
        if operation["action"] == action:
            for ref in operation["messages"]:
                message = inlined(resolve(ref["$ref"]))
                found.setdefault(message["payload"]["properties"]["type"]["const"], []).append(message)
    return found


def validator(message: dict) -> Draft202012Validator:
    return Draft202012Validator(message["payload"], format_checker=FormatChecker())


# --- the document ---------------------------------------------------------------------------

def test_the_document_has_the_asyncapi_3_structure():
    assert DOC["asyncapi"].startswith("3.0.")
    assert {"asyncapi", "info", "servers", "channels", "operations", "components"} <= set(DOC)
    assert DOC["info"]["title"] and DOC["info"]["version"] == str(signalling.PROTOCOL_VERSION)
    for server in DOC["servers"].values():
        assert {"host", "protocol"} <= set(server) and server["protocol"] in ("ws", "wss")
        assert server["security"], "how to authenticate"
    channel = DOC["channels"]["consultationRoom"]
    assert channel["address"] == "/ws/consultations/{consultationId}/"
    assert set(channel["parameters"]) == {"consultationId"}
    for name, operation in DOC["operations"].items():
        assert operation["action"] in ("send", "receive"), name
        assert operation["channel"]["$ref"].startswith("#/channels/"), name
        channel_pointer = operation["channel"]["$ref"]
        for ref in operation["messages"]:  # 3.0: an operation's messages are its channel's
            assert ref["$ref"].startswith(channel_pointer + "/messages/"), (name, ref)


def test_every_reference_resolves_and_every_component_message_is_used():
    for pointer in refs(DOC):
        resolve(pointer)
    used = {ref["$ref"] for channel in DOC["channels"].values() for ref in channel["messages"].values()}
    assert used == {f"#/components/messages/{name}" for name in DOC["components"]["messages"]}
    in_operations = {ref["$ref"] for op in DOC["operations"].values() for ref in op["messages"]}
    assert in_operations == {f"#/channels/consultationRoom/messages/{name}"
                             for name in DOC["channels"]["consultationRoom"]["messages"]}


def test_every_payload_is_a_json_schema_and_every_message_has_a_valid_example():
    for name, message in DOC["components"]["messages"].items():
        message = inlined(message)
        Draft202012Validator.check_schema(message["payload"])
        assert message["payload"]["properties"]["type"]["const"] == message["name"], name
        assert message.get("examples"), f"{name} has no example"
        for example in message["examples"]:
            errors = list(validator(message).iter_errors(example["payload"]))
            assert not errors, f"{name} example: {errors[0].message}"


def test_the_message_types_are_the_ones_the_consumer_handles_and_sends():
    assert set(messages_by_action("receive")) == signalling.CLIENT_TYPES
    assert set(messages_by_action("send")) == signalling.SERVER_TYPES


def _sent_literals(path: Path) -> set[str]:
    """The "type" of every protocol message literal ({"v": ..., "type": "..."}) in a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Dict):
            pairs = {key.value: value for key, value in zip(node.keys, node.values) if isinstance(key, ast.Constant)}
            if "v" in pairs and isinstance(pairs.get("type"), ast.Constant):
                found.add(pairs["type"].value)
    return found


def test_every_message_literal_the_server_sends_is_a_server_type():
    sent = set()
    for module in ("consult/consumers.py", "consult/consultation.py", "consult/signalling.py"):
        sent |= _sent_literals(ROOT / module)
    assert {"state", "presence", "pong", "admitted", "ended", "chat", "error"} <= sent  # the scan reads them
    assert sent <= signalling.SERVER_TYPES
    # The rest of SERVER_TYPES is what the consumer relays, with "from".
    assert signalling.SERVER_TYPES - sent <= set(signalling.RELAYED)


def test_every_close_code_is_documented_with_its_meaning():
    constants = {name: value for name, value in vars(signalling).items() if name.startswith("CLOSE_")}
    documented = {entry["name"]: entry["code"] for entry in DOC["channels"]["consultationRoom"]["x-close-codes"]}
    assert documented == constants
    assert {4401, 4403, 4410, 4503} <= set(documented.values())
    assert all(entry["meaning"] for entry in DOC["channels"]["consultationRoom"]["x-close-codes"])


# --- the endpoint ---------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_endpoint_serves_json_by_default_and_yaml_when_asked(client):
    response = client.get("/api/schema/asyncapi/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert response.json() == DOC
    for answer in (client.get("/api/schema/asyncapi/?format=yaml"),
                   client.get("/api/schema/asyncapi/", HTTP_ACCEPT="application/yaml")):
        assert answer.status_code == 200 and answer["Content-Type"].startswith("application/yaml")
        assert yaml.safe_load(answer.content) == DOC
    assert yaml.safe_load(DOCUMENT.read_text()) == DOC


@pytest.mark.django_db
def test_the_endpoint_is_as_public_as_the_openapi_schema(client):
    assert client.get("/api/schema/asyncapi/").status_code == client.get("/api/schema/").status_code


@pytest.mark.django_db
def test_the_swagger_description_links_the_asyncapi_document(client):
    schema = client.get("/api/schema/?format=json").json()
    assert "/api/schema/asyncapi/" in schema["info"]["description"]
    assert "/api/schema/asyncapi/" not in schema["paths"]


# --- a real session against the document ------------------------------------------------------

router = URLRouter(websocket_urlpatterns)


@pytest.mark.django_db(transaction=True)
def test_every_message_of_a_whole_session_matches_the_document():
    room = make_room()
    server_messages = messages_by_action("send")
    client_messages = messages_by_action("receive")
    seen: set[str] = set()

    def check(message: dict) -> dict:
        kind = message["type"]
        candidates = server_messages[kind]
        assert any(validator(m).is_valid(message) for m in candidates), (
            kind, [e.message for m in candidates for e in validator(m).iter_errors(message)])
        seen.add(kind)
        return message

    async def connect(user):
        communicator = WebsocketCommunicator(router, f"/ws/consultations/{room.consultation.pk}/")
        communicator.scope["user"] = user
        if user == room.doctor_user:  # admitting needs the doctor's second factor (cloudhospital.step_up)
            communicator.scope["session"] = await database_sync_to_async(verified_session)(user)
        assert (await communicator.connect())[0]
        return communicator

    async def until(communicator, kind):
        while True:
            message = check(json.loads(await communicator.receive_from(timeout=2)))
            if message["type"] == kind:
                return message

    async def send(communicator, message):
        kind = message["type"]
        assert any(validator(m).is_valid(message) for m in client_messages[kind]), message
        await communicator.send_to(text_data=json.dumps(message))

    async def scenario():
        doctor = await connect(room.doctor_user)
        await until(doctor, "state")
        family = await connect(room.proxy)
        await until(family, "state")
        await until(doctor, "presence")
        await send(family, {"v": 1, "type": "offer", "sdp": "v=0 early"})
        assert (await until(family, "error"))["code"] == "not_admitted"
        await send(family, {"type": "ping"})
        await until(family, "pong")
        await send(doctor, {"v": 1, "type": "admit"})
        await until(doctor, "admitted")
        await until(family, "admitted")
        # Consent to recording is given through REST; the room hears it as `recording`.
        await database_sync_to_async(recording.recording_consent_give)(by=room.proxy, consultation=room.consultation)
        await until(doctor, "recording")
        await until(family, "recording")
        await send(doctor, {"v": 1, "type": "offer", "sdp": "v=0 offer", "restart": False})
        await until(family, "offer")
        await send(family, {"v": 1, "type": "answer", "sdp": "v=0 answer"})
        await until(doctor, "answer")
        await send(family, {"v": 1, "type": "ice", "candidate": {"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host",
                                                                  "sdpMid": "0", "sdpMLineIndex": 0}})
        await until(doctor, "ice")
        await send(family, {"v": 1, "type": "ice", "candidate": None})
        await until(doctor, "ice")
        await send(family, {"v": 1, "type": "chat", "text": "能听到吗？"})
        await until(doctor, "chat")
        await until(family, "chat")
        await send(doctor, {"v": 1, "type": "hangup"})
        await until(family, "hangup")
        await send(doctor, {"v": 1, "type": "end"})
        await until(doctor, "ended")
        await until(family, "ended")
        output = await family.receive_output(timeout=2)
        while output["type"] != "websocket.close":
            output = await family.receive_output(timeout=2)
        assert output["code"] == signalling.CLOSE_ENDED_NORMALLY
        await doctor.disconnect()
        await family.disconnect()

    async_to_sync(scenario)()
    assert seen == signalling.SERVER_TYPES
