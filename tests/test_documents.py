"""RAM documents: the exact REFERENCE policy, one canonical serialisation, the grammar."""

import json

import pytest

from paikit import documents

REFERENCE_DOCUMENT = {
    "Statement": [
        {
            "Action": "ram:CreateServiceLinkedRole",
            "Resource": "*",
            "Effect": "Allow",
            "Condition": {"StringEquals": {"ram:ServiceName": "eas.pai.aliyuncs.com"}},
        }
    ],
    "Version": "1",
}


def test_eas_document_is_the_reference_document():
    assert documents.service_linked_role_document() == REFERENCE_DOCUMENT


def test_allow_delete_adds_the_delete_action_under_the_same_condition():
    document = documents.service_linked_role_document(allow_delete=True)
    assert [s["Action"] for s in document["Statement"]] == [
        "ram:CreateServiceLinkedRole",
        "ram:DeleteServiceLinkedRole",
    ]
    for statement in document["Statement"]:
        assert statement["Condition"] == {
            "StringEquals": {"ram:ServiceName": "eas.pai.aliyuncs.com"}
        }
        assert statement["Effect"] == "Allow"


def test_canonical_json_is_stable_and_compact():
    shuffled = json.loads(json.dumps(REFERENCE_DOCUMENT))
    shuffled["Statement"][0] = dict(reversed(list(shuffled["Statement"][0].items())))
    text = documents.canonical_json(shuffled)
    assert text == documents.canonical_json(REFERENCE_DOCUMENT)
    assert json.loads(text) == REFERENCE_DOCUMENT
    assert " " not in text
    assert text.startswith('{"Statement":[{"Action":"ram:CreateServiceLinkedRole"')


def test_reference_document_obeys_the_grammar():
    assert documents.grammar_problems(REFERENCE_DOCUMENT) == []
    assert documents.grammar_problems(documents.canonical_json(REFERENCE_DOCUMENT)) == []


@pytest.mark.parametrize(
    ("document", "problems"),
    [
        ({"Version": 1, "Statement": REFERENCE_DOCUMENT["Statement"]},
         ['"Version" must be the string "1"']),
        ({"Version": "1", "Statement": []}, ['"Statement" must be a non-empty list']),
        ({"Version": "1", "Statement": [{"Effect": "Permit", "Action": "a:b", "Resource": "*"}]},
         ['statement 1: "Effect" must be "Allow" or "Deny"']),
        ({"Version": "1", "Statement": [{"Effect": "Allow", "Resource": "*"}]},
         ['statement 1: "Action" must be a string or list of strings']),
        ({"Version": "1",
          "Statement": [{"Effect": "Allow", "Action": "a:b", "Resource": "*", "Condition": "x"}]},
         ['statement 1: "Condition" must map operators to {key: value(s)}']),
        ("{not json", ["the document is not valid JSON (Expecting property name enclosed in "
                       "double quotes)"]),
        ("x" * 6145, ["the document holds 6145 characters; RAM allows 6144"]),
    ],
)  # fmt: skip
def test_grammar_problems(document, problems):
    assert documents.grammar_problems(document) == problems


def test_a_key_given_twice_is_refused():
    text = (
        '{"Version":"1","Statement":'
        '[{"Effect":"Allow","Action":"*","Resource":"*","Effect":"Deny"}]}'
    )
    assert documents.grammar_problems(text) == [
        "the document is not valid JSON (the key 'Effect' appears twice)"
    ]
