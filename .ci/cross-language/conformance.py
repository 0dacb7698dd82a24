"""Conformance of vandar-mock's answers to the spec: every exchange the mock answered (its answer log,
`GET /__mock/answers`, kept across reset) is checked against what spec/hosts/<host>.yaml declares for that
operation and status: the media type, and for JSON the schema (OpenAPI 3.0 read as JSON Schema draft 7:
`nullable` adds null beside its own `type`, siblings of `$ref` are ignored, as OpenAPI 3.0 says).

Usage: python conformance.py <spec/hosts dir> <control URL> <label>
Prints one line per mismatch, naming the operation, the status, the field and the value, and exits 1 on
any. Answers shaped by a fault that breaks them on purpose (truncated_body, drop_connection, answer_lost) are skipped;
requests to paths the spec does not hold (the mock's payment web pages) are counted and listed apart.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft7Validator, ValidationError
from jsonschema.validators import extend
from ruamel.yaml import YAML

PREFIXES = {"ipg": "/ipg", "batch": "/batch", "subscription": "/subscription", "api": ""}
BROKEN_ON_PURPOSE = {"truncated_body", "drop_connection", "answer_lost"}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def documented_values(validator: Any, values: Any, instance: Any, schema: Any) -> Any:
    """`x-extensible-enum`: a client must accept a value Vandar adds, but the mock sends only documented ones,
    or those the spec lists in `x-vandar-mock-values` with a sentence why; any other value is a mismatch here."""
    allowed = list(values) + list(schema.get("x-vandar-mock-values", []))
    if isinstance(instance, str) and isinstance(values, list) and instance not in allowed:
        yield ValidationError(f"{instance!r} is not a documented value (x-extensible-enum: {values})")


# Draft 7 plus the open-enum check; answers shaped by the unknown_enum_value fault skip the latter.
Strict = extend(Draft7Validator, {"x-extensible-enum": documented_values})


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects to JSON Schema draft 7 (nullable -> a null type beside `type`)."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: to_json_schema(value) for key, value in node.items()}
    if out.pop("nullable", False) is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = out["enum"] + [None]
    return out


class Host:
    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        self.name = name
        self.root = to_json_schema(spec)
        self.operations: list[tuple[str, re.Pattern[str], str, dict[str, Any], str]] = []
        for path, item in self.root.get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
            for method, op in item.items():
                if method in METHODS:
                    self.operations.append((method.upper(), pattern, op["operationId"], op.get("responses", {}), path))
        # Literal segments before templated ones (Vandar's /customers/fields beside /customers/{customer}).
        self.operations.sort(key=lambda o: o[4].count("{"))

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.root
            for key in node["$ref"].lstrip("#/").split("/"):
                target = target[key.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def find(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        for op_method, pattern, operation_id, responses, _ in self.operations:
            if op_method == method and pattern.match(path):
                return operation_id, responses
        return None


def load_hosts(directory: Path) -> dict[str, Host]:
    yaml = YAML(typ="safe", pure=True)
    return {name: Host(name, yaml.load((directory / f"{name}.yaml").read_text(encoding="utf-8"))) for name in PREFIXES}


def host_of(path: str) -> tuple[str, str]:
    for name, prefix in PREFIXES.items():
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            return name, path[len(prefix):] or "/"
    return "api", path


def field(path: Any) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return text.lstrip(".") or "(the body)"


def short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


def check(hosts: dict[str, Host], exchanges: list[dict[str, Any]]) -> tuple[int, list[str], list[str]]:
    """(answers checked, mismatches, answers on paths outside the spec)."""
    checked, mismatches, outside = 0, [], []
    for exchange in exchanges:
        if exchange.get("fault") in BROKEN_ON_PURPOSE:
            continue
        name, path = host_of(exchange["path"])
        host = hosts[name]
        found = host.find(exchange["method"], path)
        where = f"{exchange['method']} {exchange['path']}"
        if found is None:
            outside.append(f"{where} -> {exchange['status']}")
            continue
        operation, responses = found
        status = str(exchange["status"])
        declared = responses.get(status) or responses.get(status[0] + "XX") or responses.get("default")
        at = f"{operation} ({name}) {status}"
        if declared is None:
            mismatches.append(f"{at}: status not declared ({where})")
            continue
        response = host.resolve(declared)
        content = response.get("content") or {}
        media = exchange.get("content_type", "").split(";")[0].strip()
        answer = exchange.get("answer")
        checked += 1
        if not content:
            if answer not in (None, ""):
                mismatches.append(f"{at}: the spec declares no body, the mock sent {media or 'no content type'}: {short(answer)}")
            continue
        if media not in content:
            mismatches.append(f"{at}: content type {media or '(none)'} not declared (declared: {', '.join(content)}); body {short(answer)}")
            continue
        schema = content[media].get("schema")
        if schema is None or media != "application/json":
            continue
        kind = Draft7Validator if exchange.get("fault") == "unknown_enum_value" else Strict
        validator = kind({**host.root, **schema} if "$ref" not in schema else {**host.root, "$ref": schema["$ref"]})
        for error in sorted(validator.iter_errors(answer), key=lambda e: [str(p) for p in e.absolute_path]):
            path = list(error.absolute_path)
            if error.validator == "required" and isinstance(error.instance, dict):
                # Name the missing field itself, not the object that lacks it.
                path += [name for name in error.validator_value if name not in error.instance][:1]
                mismatches.append(f"{at}: field {field(path)} missing: {error.message[:200]}")
                continue
            mismatches.append(f"{at}: field {field(path)} = {short(error.instance)}: {error.message[:200]}")
    return checked, mismatches, outside


def self_test(hosts: dict[str, Host]) -> None:
    """The check finds what it must (a checker that passes everything proves nothing)."""
    def exchange(method: str, path: str, status: int, answer: Any, content_type: str = "application/json") -> dict[str, Any]:
        return {"method": method, "path": path, "status": status, "content_type": content_type, "answer": answer, "fault": None}

    balance = "/v2/business/shop/balance"
    unpaid = {"status": 1, "amount": "1000", "transId": 1, "code": 0, "paymentDate": None, "createdAt": "2026-01-01 10:00:00"}
    good = [
        exchange("POST", "/ipg/api/v4/transaction", 200, unpaid),
        exchange("GET", balance, 502, "<html>502 Bad Gateway</html>", "text/html"),
        exchange("GET", balance, 503, {"status": 0, "message": "injected fault"}),
    ]
    bad = [
        exchange("GET", balance, 200, {"status": 1}),
        exchange("GET", balance, 502, "Bad Gateway", "text/plain"),
        exchange("POST", "/ipg/api/v4/transaction", 200, {**unpaid, "transId": "not a number"}),
    ]
    _, found, _ = check(hosts, good)
    assert not found, f"self-test: conforming answers refused: {found}"
    _, found, _ = check(hosts, bad)
    assert len(found) == len(bad) and "field data" in found[0] and "text/plain" in found[1] and "field transId" in found[2], found


def main() -> None:
    directory, control, label = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    hosts = load_hosts(directory)
    self_test(hosts)
    exchanges = httpx.get(f"{control}/answers", timeout=30).json()["answers"]
    checked, mismatches, outside = check(hosts, exchanges)
    for line in outside:
        print(f"  outside the spec (not checked): {line}")
    for line in mismatches:
        print(f"  MISMATCH {line}")
    print(f"conformance ({label}): {checked} answers checked against spec/hosts/, {len(mismatches)} mismatches")
    if mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
