"""The OpenAPI 3.1 document of the desk's REST API (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_ERR = {"400": _json(_ref("Error"), "Bad request"), "401": _json(_ref("Error"), "No token")}
_ALERT_ID = {"name": "alert_id", "in": "path", "required": True, "schema": {"type": "string"}}
_STAFF = {"type": "object", "properties": {"staff": {"type": "string", "maxLength": 100}}}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "danmaku-agent desk API",
        "version": "1",
        "description": "Alerts, staff actions, silences, lineup and rooms of the control desk.",
    },
    "security": [{"bearer": []}, {"cookie": []}],
    "paths": {
        "/api/v1/alerts": {"get": {
            "summary": "Alerts, newest first",
            "parameters": [
                {"name": "room", "in": "query", "schema": {"type": "string"}},
                {"name": "state", "in": "query", "description": "comma-separated states",
                 "schema": {"type": "string"}},
            ],
            "responses": {"200": _json({"type": "array", "items": _ref("Alert")}), **_ERR},
        }},
        "/api/v1/alerts/{alert_id}": {"get": {
            "summary": "One alert", "parameters": [_ALERT_ID],
            "responses": {"200": _json(_ref("Alert")), "404": _json(_ref("Error"), "Unknown")},
        }},
        "/api/v1/alerts/{alert_id}/ack": {"post": {
            "summary": "Acknowledge (确认)", "parameters": [_ALERT_ID],
            "requestBody": _body(_STAFF),
            "responses": {"200": _json(_ref("Alert")), "404": _json(_ref("Error")), **_ERR},
        }},
        "/api/v1/alerts/{alert_id}/resolve": {"post": {
            "summary": "Resolve (解决), optionally as a false positive (误报)",
            "parameters": [_ALERT_ID],
            "requestBody": _body({"type": "object", "properties": {
                "staff": {"type": "string"}, "false_positive": {"type": "boolean"}}}),
            "responses": {"200": _json(_ref("Alert")), "404": _json(_ref("Error")), **_ERR},
        }},
        "/api/v1/alerts/{alert_id}/assign": {"post": {
            "summary": "Assign (指派) to a staff member", "parameters": [_ALERT_ID],
            "requestBody": _body({"type": "object", "required": ["assignee"], "properties": {
                "staff": {"type": "string"}, "assignee": {"type": "string"}}}),
            "responses": {"200": _json(_ref("Alert")), "404": _json(_ref("Error")), **_ERR},
        }},
        "/api/v1/silences": {
            "get": {"summary": "Active silences",
                    "responses": {"200": _json({"type": "array", "items": _ref("Silence")})}},
            "post": {
                "summary": "Add a silence (mute a rule)",
                "requestBody": _body({"type": "object", "required": ["matchers"], "properties": {
                    "matchers": {"type": "object", "additionalProperties": {"type": "string"}},
                    "until": {"type": "number"}, "duration_seconds": {"type": "number"},
                    "for_broadcast": {"type": "boolean"}, "by": {"type": "string"},
                    "comment": {"type": "string"}}}),
                "responses": {"201": _json(_ref("Silence"), "Created"), **_ERR},
            },
        },
        "/api/v1/silences/{silence_id}": {"delete": {
            "summary": "Remove a silence",
            "parameters": [{"name": "silence_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"204": {"description": "Removed"}, "404": _json(_ref("Error"))},
        }},
        "/api/v1/rooms": {"get": {
            "summary": "Rooms: connection, stale feed, current SKU, counts by category",
            "responses": {"200": _json({"type": "array", "items": _ref("Room")})},
        }},
        "/api/v1/lineup": {"get": {
            "summary": "Current SKU per room",
            "responses": {"200": _json({"type": "object",
                                        "additionalProperties": {"type": ["string", "null"]}})},
        }},
        "/api/v1/lineup/{room}": {"put": {
            "summary": "Override the current SKU of a room",
            "parameters": [{"name": "room", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "requestBody": _body({"type": "object", "properties": {
                "sku": {"type": ["string", "null"]}}}),
            "responses": {"200": _json({"type": "object"}), **_ERR},
        }},
        "/api/v1/products": {"get": {
            "summary": "Catalog SKUs and names",
            "responses": {"200": _json({"type": "array", "items": {"type": "object"}})},
        }},
        "/api/v1/stream": {"get": {
            "summary": "Server-sent events: snapshot, alert, rooms",
            "responses": {"200": {"description": "text/event-stream",
                                  "content": {"text/event-stream": {}}}},
        }},
    },
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "danmaku_desk"},
        },
        "schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
            "Alert": {"type": "object", "required": ["alert_id", "version", "state", "room"],
                      "properties": {
                "alert_id": {"type": "string"}, "version": {"type": "integer"},
                "state": {"enum": ["open", "acked", "escalated", "resolved"]},
                "room": {"type": "string"},
                "kind": {"enum": ["inquiry", "misstatement", "spike", "compliance"]},
                "category": {"type": "string"},
                "severity": {"enum": ["low", "medium", "high", "critical"]},
                "count": {"type": "integer"}, "first_seen": {"type": "number"},
                "last_seen": {"type": "number"}, "source_ts": {"type": "number"},
                "examples": {"type": "array", "items": {"type": "string"}},
                "sku": {"type": ["string", "null"]},
                "suggested_reply": {"type": ["string", "null"]},
                "correction": {"type": ["string", "null"]},
                "team": {"type": ["string", "null"]}, "assignee": {"type": ["string", "null"]},
                "escalation_level": {"type": "integer"},
                "sla_deadline": {"type": ["number", "null"]},
            }},
            "Silence": {"type": "object", "properties": {
                "id": {"type": "string"},
                "matchers": {"type": "object", "additionalProperties": {"type": "string"}},
                "until": {"type": "number"}, "by": {"type": "string"},
                "comment": {"type": "string"}}},
            "Room": {"type": "object", "properties": {
                "room": {"type": "string"}, "connected": {"type": ["boolean", "null"], "description": "null: no live connection to watch (replay, push relays)"},
                "last_message": {"type": ["number", "null"]}, "stale": {"type": "boolean"},
                "sku": {"type": ["string", "null"]}, "counts": {"type": "object"}}},
        },
    },
}  # fmt: skip
