"""OSS CORS rules for PAI: presets, OSS's refusals, first-match evaluation, consumer coverage."""

import pytest

from paikit import cors
from paikit.cors import CONSUMERS, CorsRule, Request

ITAG = CONSUMERS["itag"]
STUDIO = CONSUMERS["studio-preview"]


def test_itag_preset_is_reference_1_1_exactly():
    rule = ITAG.rule()
    assert set(rule.allowed_origins) == {"https://*.console.aliyun.com"}
    assert set(rule.allowed_methods) == {"GET", "POST", "PUT"}
    assert set(rule.allowed_headers) == {"*"}
    assert set(rule.expose_headers) == {"etag", "x-oss-request-id"}
    assert rule.max_age_seconds is None
    assert ITAG.needs_vary is True


def test_studio_preset_is_reference_1_2_exactly():
    rule = STUDIO.rule(max_age_seconds=600)
    assert set(rule.allowed_origins) == {
        "https://*.console.aliyun.com",
        "http://*.console.aliyun.com",
    }
    assert set(rule.allowed_methods) == {"PUT", "GET", "POST", "HEAD"}
    assert set(rule.allowed_headers) == {
        "authorization",
        "content-md5",
        "content-type",
        "x-oss-date",
        "x-oss-security-token",
        "x-oss-user-agent",
        "range",
    }
    assert set(rule.expose_headers) == {"etag", "x-oss-request-id"}
    assert rule.max_age_seconds == 600
    assert STUDIO.needs_vary is False


@pytest.mark.parametrize(
    ("origin", "fragment"),
    [
        ("https://*.*.console.aliyun.com", "at most one '*'"),
        ("pai.console.aliyun.com", "scheme"),
        ("*.console.aliyun.com", "scheme"),
        ("ftp://pai.console.aliyun.com", "scheme"),
        ("https://pai.console.aliyun.com/path", "no path"),
        ("", "non-empty"),
    ],
)
def test_origins_oss_refuses(origin, fragment):
    assert fragment in cors.origin_problem(origin)


@pytest.mark.parametrize(
    "origin", ["*", "https://*.console.aliyun.com", "http://localhost:8080", "https://a.b.c"]
)
def test_origins_oss_accepts(origin):
    assert cors.origin_problem(origin) is None


def test_expose_header_with_star_is_refused():
    rule = CorsRule(("https://a.example.com",), ("GET",), ("*",), ("x-oss-*",))
    assert cors.rule_problems(rule) == [
        "expose header 'x-oss-*': expose headers may not contain '*'"
    ]


def test_allowed_header_with_two_stars_and_unknown_method_are_refused():
    rule = CorsRule(("https://a.example.com",), ("GET", "PATCH"), ("x-*-*",))
    assert cors.rule_problems(rule) == [
        "method 'PATCH': allowed methods are GET, PUT, DELETE, POST, HEAD",
        "allowed header 'x-*-*': an allowed header may hold at most one '*'",
    ]


def test_first_matching_rule_answers():
    narrow = CorsRule(("https://pai.console.aliyun.com",), ("GET",), ("*",), ())
    rules = [narrow, STUDIO.rule()]
    response = cors.evaluate(rules, Request("https://pai.console.aliyun.com", "GET", ("range",)))
    assert response.rule_index == 0
    assert response.expose_headers == ()
    # A method the first rule lacks falls through to the next rule.
    response = cors.evaluate(rules, Request("https://pai.console.aliyun.com", "HEAD", ("range",)))
    assert response.rule_index == 1


def test_headers_match_case_insensitively_and_origins_do_not():
    rule = STUDIO.rule()
    request = Request("https://pai.console.aliyun.com", "PUT", ("Content-Type", "X-OSS-Date"))
    assert cors.evaluate([rule], request) is not None
    upper = Request("HTTPS://PAI.CONSOLE.ALIYUN.COM", "PUT", ("content-type",))
    assert cors.evaluate([rule], upper) is None


def test_wildcard_origin_needs_a_subdomain_and_the_scheme():
    rule = ITAG.rule()
    assert cors.origin_allowed(rule, "https://pai.console.aliyun.com")
    assert not cors.origin_allowed(rule, "http://pai.console.aliyun.com")
    assert not cors.origin_allowed(rule, "https://console.aliyun.com.evil.example")


def test_unrequested_headers_make_the_preflight_fail():
    request = Request("https://pai.console.aliyun.com", "GET", ("x-custom",))
    assert cors.evaluate([STUDIO.rule()], request) is None
    assert cors.evaluate([ITAG.rule()], request) is not None


def test_response_carries_rule_headers_and_vary():
    request = Request("https://pai.console.aliyun.com", "POST", ("authorization",))
    response = cors.evaluate([ITAG.rule(max_age_seconds=60)], request, response_vary=True)
    assert response.allow_origin == "https://pai.console.aliyun.com"
    assert set(response.allow_methods) == {"GET", "POST", "PUT"}
    assert response.allow_headers == ("authorization",)
    assert set(response.expose_headers) == {"etag", "x-oss-request-id"}
    assert response.max_age_seconds == 60
    assert response.vary_origin is True


@pytest.mark.parametrize("presets", [("itag",), ("studio-preview",), ("itag", "studio-preview")])
def test_every_consumer_preflight_is_answered_by_the_presets(presets):
    rules = [CONSUMERS[p].rule() for p in presets]
    for preset in presets:
        consumer = CONSUMERS[preset]
        for request in cors.consumer_requests(consumer):
            response = cors.evaluate(rules, request, response_vary=True)
            assert response is not None, request
            assert set(consumer.expose_headers) <= set(response.expose_headers)
            assert request.method in response.allow_methods
            assert response.vary_origin
    assert cors.coverage_gaps(rules, presets, response_vary=True) == []


def test_studio_rule_without_head_leaves_head_preflights_unanswered():
    no_head = CorsRule(
        STUDIO.origins, ("GET", "PUT", "POST"), STUDIO.headers, STUDIO.expose_headers
    )
    gaps = cors.coverage_gaps([no_head], ["studio-preview"], response_vary=False)
    assert {(g.method, g.origin) for g in gaps} == {
        ("HEAD", f"{scheme}://{host}.console.aliyun.com")
        for scheme in ("https", "http")
        for host in ("pai", "pai-itag", "probe-7q")
    }
    assert str(gaps[0]).startswith("PAI-Studio file preview: HEAD from https://")


def test_studio_rule_without_http_origin_leaves_http_console_unanswered():
    https_only = CorsRule(
        ("https://*.console.aliyun.com",), STUDIO.methods, STUDIO.headers, STUDIO.expose_headers
    )
    gaps = cors.coverage_gaps([https_only], ["studio-preview"], response_vary=False)
    assert {g.origin for g in gaps} == {
        "http://pai.console.aliyun.com",
        "http://pai-itag.console.aliyun.com",
        "http://probe-7q.console.aliyun.com",
    }
    assert len(gaps) == 24  # three sample hosts, four methods, preflight and request each


def test_a_rule_placed_first_that_hides_expose_headers_is_a_gap():
    shadow = CorsRule(("https://*.console.aliyun.com",), ("GET",), ("*",), ())
    gaps = cors.coverage_gaps([shadow, ITAG.rule()], ["itag"], response_vary=True)
    assert {(g.method, g.origin) for g in gaps} == {
        ("GET", "https://pai.console.aliyun.com"),
        ("GET", "https://pai-itag.console.aliyun.com"),
        ("GET", "https://probe-7q.console.aliyun.com"),
    }
    assert "does not expose etag, x-oss-request-id" in gaps[0].reason


def test_itag_without_vary_is_a_gap():
    gaps = cors.coverage_gaps([ITAG.rule()], ["itag"], response_vary=False)
    assert [g.reason for g in gaps] == ["the bucket does not return Vary: Origin"]


def test_rule_from_engine_reads_camel_case():
    rule = cors.rule_from_engine(
        {
            "allowedOrigins": ["https://*.console.aliyun.com"],
            "allowedMethods": "GET",
            "allowedHeaders": ["*"],
            "exposeHeaders": ["etag"],
            "maxAgeSeconds": 10,
        }
    )
    assert rule == CorsRule(("https://*.console.aliyun.com",), ("GET",), ("*",), ("etag",), 10)


def test_a_rule_the_preflight_skips_can_still_answer_the_request_itself():
    # Headers keep the preflight away from the first rule; the GET itself matches it on origin
    # and method alone, and it exposes nothing.
    shadow = CorsRule(("https://*.console.aliyun.com",), ("GET", "PUT", "POST"),
                      ("content-type",), ())  # fmt: skip
    gaps = cors.coverage_gaps([shadow, ITAG.rule()], ["itag"], response_vary=True)
    assert {g.method for g in gaps} == {"GET", "PUT", "POST"}
    assert all("answers the request itself but does not expose etag" in g.reason for g in gaps)


def test_a_rule_naming_only_some_consoles_leaves_the_others_unserved():
    some = CorsRule(("https://pai.console.aliyun.com", "https://pai-itag.console.aliyun.com"),
                    ITAG.methods, ("*",), ITAG.expose_headers)  # fmt: skip
    gaps = cors.coverage_gaps([some], ["itag"], response_vary=True)
    assert {g.origin for g in gaps} == {"https://probe-7q.console.aliyun.com"}


def test_malformed_engine_rules_match_nothing_instead_of_failing():
    assert cors.rule_from_engine("oops") == CorsRule((), ())
    rule = cors.rule_from_engine({"allowedOrigins": [5, "https://a.example.com"],
                                  "allowedMethods": "GET", "allowedHeaders": [None]})  # fmt: skip
    assert rule == CorsRule(("https://a.example.com",), ("GET",), (), ())
