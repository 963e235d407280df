#!/usr/bin/env python3
"""Checks responses the live API gave against the OpenAPI document that describes it.

Usage: check-openapi-responses.py OPENAPI.yaml RESPONSES.json

RESPONSES.json is a list of {"method", "path", "status", "content_type", "body"} records, as the API tests collect
them. Each must match a documented operation and status (or "default"), and a JSON body must validate against the
documented schema (OpenAPI 3.1 = JSON Schema 2020-12, with the document's own $refs). Prints one line per problem
and a closing count; exits 1 when anything does not match, so the test that runs it fails.
"""
import json
import re
import sys

import yaml
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


def operation_for(spec, method, path):
    """The documented operation for a concrete path, matching `{name}` templates segment by segment."""
    path = path.split("?", 1)[0]
    for template, item in spec.get("paths", {}).items():
        pattern = "^" + re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    return None, None


def main():
    spec_path, records_path = sys.argv[1], sys.argv[2]
    with open(spec_path, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    with open(records_path, encoding="utf-8") as f:
        records = json.load(f)
    root = "urn:mailroom:openapi"

    problems = []
    checked = 0
    for record in records:
        method, path, status = record["method"], record["path"], str(record["status"])
        where = f"{method} {path} → {status}"
        template, operation = operation_for(spec, method, path)
        if operation is None:
            problems.append(f"{where}: no such operation in the document")
            continue
        responses = operation.get("responses", {})
        response = responses.get(status) or responses.get(status[0] + "XX") or responses.get("default")
        if response is None:
            problems.append(f"{where}: status {status} is not documented for {method} {template}")
            continue
        if "$ref" in response:
            name = response["$ref"].rsplit("/", 1)[-1]
            response = spec["components"]["responses"][name]
        content = response.get("content")
        content_type = (record.get("content_type") or "").split(";", 1)[0].strip()
        if not content:
            if record.get("body"):
                problems.append(f"{where}: documented without a body, but one came back")
            checked += 1
            continue
        if content_type not in content:
            problems.append(f"{where}: content type «{content_type}» is not documented (documented: {', '.join(content)})")
            continue
        schema = content[content_type].get("schema")
        if schema is None or content_type != "application/json":
            checked += 1
            continue
        try:
            body = json.loads(record["body"])
        except ValueError as error:
            problems.append(f"{where}: the body is not JSON ({error})")
            continue
        # Resolve the schema inside the document, so its "#/components/..." references resolve too.
        document = dict(spec)
        document["__schema__"] = schema
        resource_registry = Registry().with_resource(root, Resource.from_contents(document, default_specification=DRAFT202012))
        validator = OAS31Validator({"$ref": root + "#/__schema__"}, registry=resource_registry)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        for error in errors[:5]:
            location = "/".join(str(part) for part in error.path) or "(body)"
            problems.append(f"{where}: {location}: {error.message}")
        checked += 1

    for problem in problems:
        print(problem)
    print(f"{checked} responses match the document, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
