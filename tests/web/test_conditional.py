"""The conditional-GET rules of RFC 9110 §13.1-13.2: lists of entity tags, ``*``, weak
comparison, If-None-Match before If-Modified-Since, GET and HEAD only."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from iatiportal.web.conditional import not_modified, opaque_tags

ETAG = 'W/"abc"'
MODIFIED = "Tue, 01 Dec 2026 10:00:00 GMT"


def asked(*pairs: tuple[str, str]) -> Headers:
    return Headers(raw=[(k.lower().encode(), v.encode()) for k, v in pairs])


@pytest.mark.parametrize(
    "matches",
    [
        'W/"abc"',
        '"abc"',  # weak comparison: the weak and the strong tag match
        '"x", W/"abc"',
        '"x",W/"abc" , "y"',
        '"a,b", "abc"',  # a comma inside a tag
        "*",
        " * ",
    ],
)
def test_a_matching_if_none_match_is_not_modified(matches: str) -> None:
    assert not_modified("GET", asked(("If-None-Match", matches)), ETAG, MODIFIED)
    assert not_modified("HEAD", asked(("If-None-Match", matches)), ETAG, MODIFIED)


@pytest.mark.parametrize("matches", ['"x"', 'W/"abcd", "ab"', '"a,b"', "abc", ""])
def test_other_tags_are_modified(matches: str) -> None:
    assert not not_modified("GET", asked(("If-None-Match", matches)), ETAG, MODIFIED)


def test_several_if_none_match_fields_are_one_list() -> None:
    headers = asked(("If-None-Match", '"x"'), ("If-None-Match", 'W/"abc"'))
    assert not_modified("GET", headers, ETAG, None)
    assert opaque_tags(['"x", W/"y"', '"z"']) == {"x", "y", "z"}
    assert opaque_tags(['"x"', "*"]) is None


def test_if_none_match_takes_precedence_over_if_modified_since() -> None:
    later = "Wed, 02 Dec 2026 10:00:00 GMT"
    earlier = "Mon, 30 Nov 2026 10:00:00 GMT"
    stale = asked(("If-None-Match", '"x"'), ("If-Modified-Since", later))
    assert not not_modified("GET", stale, ETAG, MODIFIED)
    fresh = asked(("If-None-Match", ETAG), ("If-Modified-Since", earlier))
    assert not_modified("GET", fresh, ETAG, MODIFIED)
    assert not_modified("GET", asked(("If-Modified-Since", later)), ETAG, MODIFIED)
    assert not_modified("GET", asked(("If-Modified-Since", MODIFIED)), ETAG, MODIFIED)
    assert not not_modified("GET", asked(("If-Modified-Since", earlier)), ETAG, MODIFIED)
    assert not not_modified("GET", asked(("If-Modified-Since", "yesterday")), ETAG, MODIFIED)
    assert not not_modified("GET", asked(("If-Modified-Since", later)), ETAG, None)


def test_only_get_and_head_are_answered_304() -> None:
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        assert not not_modified(method, asked(("If-None-Match", "*")), ETAG, MODIFIED)
        since = asked(("If-Modified-Since", MODIFIED))
        assert not not_modified(method, since, ETAG, MODIFIED)


def test_no_validators_no_304() -> None:
    assert not not_modified("GET", asked(), ETAG, MODIFIED)
    assert not not_modified("GET", asked(("If-None-Match", '"abc"')), None, None)
    assert not_modified("GET", asked(("If-None-Match", "*")), None, None) is False
