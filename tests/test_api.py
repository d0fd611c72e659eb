"""The HTTP API against a started server, with a real HTTP client."""

import json

import httpx
import pytest

CAFFEINE_KEY = "RYYVLZVUVIJVGH-UHFFFAOYSA-N"


@pytest.fixture(scope="module")
def client(api_server):
    with httpx.Client(base_url=api_server, timeout=60) as http:
        yield http


def chat(client, message, mode="auto"):
    response = client.post("/api/chat", json={"message": message, "mode": mode})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("mode", ["auto", "fallback"])
def test_caffeine_answer(client, mode):
    answer = chat(client, "Tell me about Caffeine", mode)
    assert answer["status"] == "ok" and answer["mode"] == mode
    assert answer["formula"] == "C8H10N4O2" and answer["inchikey"] == CAFFEINE_KEY
    assert answer["source"] == "database" and answer["cid"] == 2519
    assert answer["descriptors"]["lipinski"]["passes"] is True


def test_ai_mode_without_a_model_is_an_answer_not_a_failure(client):
    answer = chat(client, "Tell me about Caffeine", "ai")
    assert answer["status"] == "error" and "Name model not available" in answer["message"]


def test_mode_defaults_to_auto(client):
    response = client.post("/api/chat", json={"message": "aspirin"})
    assert response.status_code == 200 and response.json()["mode"] == "auto"


def test_hello_is_not_found(client):
    answer = chat(client, "hello")
    assert answer["status"] == "not_found" and answer["canonical_smiles"] is None


def test_image_url_serves_a_png(client):
    answer = chat(client, "show me CC(=O)O")
    response = client.get(answer["image_url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


@pytest.mark.parametrize("params, status", [
    ({"smiles": "C(("}, 400), ({}, 422), ({"smiles": "CCO", "size": 5}, 422),
    ({"smiles": "CCO", "size": "big"}, 422),
])
def test_bad_image_requests_are_4xx(client, params, status):
    response = client.get("/api/image", params=params)
    assert response.status_code == status
    assert "message" in response.json() or "detail" in response.json()


@pytest.mark.parametrize("body", [
    "not json", "[1, 2]", "{}", '{"message": 42}', '{"message": null}', '{"mode": "ai"}',
    '{"message": "caffeine", "mode": "bogus"}', json.dumps({"message": "x" * 20_000}), "",
    '{"message": "caffeine"', '"caffeine"',
])
def test_malformed_requests_get_422_with_a_message(client, body):
    response = client.post("/api/chat", content=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith("invalid request")


def test_long_message_gets_a_clear_answer(client):
    answer = chat(client, "caffeine " * 100)
    assert answer["status"] == "error" and "too long" in answer["message"]


@pytest.mark.parametrize("message", [
    "Robert'); DROP TABLE compounds;--", "\u0000\u202e\ufeff", "💊" * 50, "C" * 400,
    "InChI=1S/garbage", "CID 99999999999",
])
def test_hostile_messages_never_5xx(client, message):
    answer = chat(client, message, "fallback")
    assert answer["status"] in {"ok", "not_found", "error"} and answer["message"]


def test_wrong_method_and_route(client):
    assert client.get("/api/chat").status_code == 405
    assert client.get("/api/nothing").status_code == 404


def test_openapi_schema_describes_the_routes(client):
    schema = client.get("/openapi.json").json()
    assert {"/api/chat", "/api/image", "/api/health"} <= set(schema["paths"])
    request = schema["components"]["schemas"]["ChatRequest"]
    assert request["properties"]["mode"]["enum"] == ["auto", "ai", "fallback"]


def test_health_reports_the_parts(client):
    health = client.get("/api/health").json()
    assert health == {"status": "ok", "store": True, "name_model": False, "image_model": False}
