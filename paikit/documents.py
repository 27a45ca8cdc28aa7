"""RAM policy documents: the EAS service-linked-role policy, canonical JSON and the grammar.

Pure functions, no Pulumi imports.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

EAS_SERVICE_NAME = "eas.pai.aliyuncs.com"
EAS_ROLE_NAME = "AliyunServiceRoleForPaiEas"
MAX_DOCUMENT_CHARS = 6144
ROTATE_STRATEGY = "DeleteOldestNonDefaultVersionWhenLimitExceeded"

_STATEMENT_KEYS = {"Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}


def canonical_json(document: Mapping) -> str:
    """The one serialisation the kit writes: sorted keys, no insignificant white space.

    The provider compares live documents as JSON, but a document that is re-serialised
    differently between runs has caused endless diffs on RAM resources.
    """
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def service_linked_role_document(
    service_name: str = EAS_SERVICE_NAME, *, allow_delete: bool = False
) -> dict:
    """Allow creating (and optionally deleting) the service-linked role of one service only."""
    actions = ["ram:CreateServiceLinkedRole"]
    if allow_delete:
        actions.append("ram:DeleteServiceLinkedRole")
    condition = {"StringEquals": {"ram:ServiceName": service_name}}
    statements = [
        {"Action": action, "Resource": "*", "Effect": "Allow", "Condition": condition}
        for action in actions
    ]
    return {"Statement": statements, "Version": "1"}


def grammar_problems(document: object) -> list[str]:
    """Every way a document breaks the RAM policy grammar (REFERENCE 2)."""
    if isinstance(document, str):
        if len(document) > MAX_DOCUMENT_CHARS:
            return [f"the document holds {len(document)} characters; RAM allows 6144"]
        try:
            document = json.loads(document, object_pairs_hook=_unique_keys)
        except ValueError as exc:
            return [f"the document is not valid JSON ({getattr(exc, 'msg', exc)})"]
        except RecursionError:
            return ["the document nests too deeply to read"]
    if not isinstance(document, Mapping):
        return ["the document must be a JSON object"]
    problems = []
    if document.get("Version") != "1":
        problems.append('"Version" must be the string "1"')
    statements = document.get("Statement")
    if not isinstance(statements, list) or not statements:
        return [*problems, '"Statement" must be a non-empty list']
    for index, statement in enumerate(statements, start=1):
        if not isinstance(statement, Mapping):
            problems.append(f"statement {index} must be an object")
            continue
        unknown = sorted(set(statement) - _STATEMENT_KEYS)
        if unknown:
            problems.append(f"statement {index} has unknown keys {', '.join(unknown)}")
        if statement.get("Effect") not in ("Allow", "Deny"):
            problems.append(f'statement {index}: "Effect" must be "Allow" or "Deny"')
        if not _strings(statement.get("Action", statement.get("NotAction"))):
            problems.append(f'statement {index}: "Action" must be a string or list of strings')
        if not _strings(statement.get("Resource", statement.get("NotResource"))):
            problems.append(f'statement {index}: "Resource" must be a string or list of strings')
        condition = statement.get("Condition")
        if condition is not None and not _condition_ok(condition):
            problems.append(
                f'statement {index}: "Condition" must map operators to {{key: value(s)}}'
            )
    return problems


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object whose keys appear once: with a key twice, which one a service reads is
    anybody's guess, so the document is refused."""
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise ValueError(f"the key {key!r} appears twice")
    return dict(pairs)


def actions_of(statement: Mapping) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


def _strings(value: object) -> bool:
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _condition_ok(condition: object) -> bool:
    if not isinstance(condition, Mapping) or not condition:
        return False
    for clause in condition.values():
        if not isinstance(clause, Mapping) or not clause:
            return False
        for value in clause.values():
            if not (isinstance(value, str | int | float | bool) or _strings(value)):
                return False
    return True
