"""Schemathesis hooks: the rules of the API that a JSON Schema cannot state, so that data the
documents call valid is valid (and `positive_data_acceptance` can insist on it).

- A password must not be one of the most common passwords (a list of 145, served by no
  document): in data meant to be valid, such a password gets one more character.
- A model must be one the server offers (`GET /api/v1/models`, which changes as providers
  come and go): in data meant to be valid, a model name is replaced by one of those.
- A message body's `conversation_id` (which the seed's clients send) must name the
  conversation of the path, and its `parent_id` a message of it: in data meant to be valid,
  the first does and the second is left out.
- An MCP server's URL must be https on the public internet and its name not blank; a
  conversation may only choose servers its owner may use: in data meant to be valid, the URL is
  a public one (tools are off in the run: nothing connects to it), a blank name gets a letter,
  and a conversation's choice names no server.

And one that keeps the run testing: the administrator whose token the run uses is not changed,
disabled, demoted or deleted through the routes that name a user (they would end its token and
leave every later request a 401); those requests go to another name.
"""

import json
import os
import pathlib
import urllib.request

import schemathesis
from schemathesis.generation.modes import GenerationMode

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMMON = set((ROOT / "crates/auth/src/domain/common-passwords.txt").read_text().split())
PASSWORD_FIELDS = ("password", "new_password")
MODEL_FIELDS = ("model", "default_model")
_models: list[str] = []


def offered_models() -> list[str]:
    """The chat service's models, read once (`CHAT_URL` and `TOKEN` come from the test script)."""
    if not _models:
        request = urllib.request.Request(
            os.environ["CHAT_URL"] + "/api/v1/models",
            headers={"Authorization": "Bearer " + os.environ["TOKEN"]},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            _models.extend(model["id"] for model in json.load(response)["models"])
    return _models


@schemathesis.hook
def before_call(context, case, kwargs):
    """Right before each request, in every phase (also stateful sequences, whose path
    parameters come from earlier answers)."""
    path = case.path_parameters or {}
    if str(path.get("username", "")).strip().lower() == os.environ["ADMIN"]:
        path["username"] = os.environ["ADMIN"] + "-other"
    body = case.body
    component = case.meta.components.get("body") if case.meta else None
    positive = component is None or component.mode == GenerationMode.POSITIVE
    if positive and isinstance(body, dict):
        for field in PASSWORD_FIELDS:
            value = body.get(field)
            if isinstance(value, str) and value.lower() in COMMON:
                body[field] = value + "~"
        if "conversation_id" in body and "id" in path:
            body["conversation_id"] = path["id"]
        if "parent_id" in body and "id" in path:
            del body["parent_id"]
        for field in MODEL_FIELDS:
            value = body.get(field)
            if isinstance(value, str) and value.strip():
                models = offered_models()
                body[field] = models[len(value) % len(models)]
        if "server_url" in body:
            body["server_url"] = "https://mcp.example.com/mcp"
        if isinstance(body.get("name"), str) and "server_url" in body and not body["name"].strip():
            body["name"] = "x" + body["name"]
        choice = body.get("mcp_servers")
        if isinstance(choice, dict) and choice.get("mode") == "only":
            choice["servers"] = []
