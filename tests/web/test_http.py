"""HTTP behaviour: revalidation by ETag and Last-Modified, compression, CORS on the API (with
its preflights), 405 answers that name the methods allowed, and download file names that say
what and when."""

from __future__ import annotations

import shutil
from pathlib import Path

from bs4 import BeautifulSoup
from sqlalchemy import Engine
from starlette.testclient import TestClient

from iatiportal.demo import demo_files
from iatiportal.exports import snapshot
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_pages_and_api_revalidate_until_the_next_ingest(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    assert not ingest(sqlite_engine, [str(p) for p in demo_files()]).failed
    with TestClient(create_app(sqlite_engine, recheck_data_every=0)) as client:
        for url in ("/countries/ML?year=2023", "/api/v1/activities?per_page=2"):
            first = client.get(url)
            assert first.status_code == 200
            etag, modified = first.headers["etag"], first.headers["last-modified"]
            same = client.get(url, headers={"If-None-Match": etag})
            assert same.status_code == 304 and same.content == b""
            assert same.headers["etag"] == etag
            since = client.get(url, headers={"If-Modified-Since": modified})
            assert since.status_code == 304
            other = client.get(url, headers={"If-None-Match": 'W/"something-else"'})
            assert other.status_code == 200
        before = client.get("/countries/ML?year=2023").headers["etag"]
        extra = tmp_path / "extra.xml"
        shutil.copy(FIXTURES / "money-hierarchy.xml", extra)
        assert not ingest(sqlite_engine, [str(extra)]).failed
        after = client.get("/countries/ML?year=2023", headers={"If-None-Match": before})
        assert after.status_code == 200  # the data changed: a new answer
        assert after.headers["etag"] != before


def test_if_none_match_lists_wildcard_and_weak_tags(sqlite_engine: Engine) -> None:
    """RFC 9110 §13.1.2: a list of entity tags, ``*``, weak comparison; If-None-Match decides
    over If-Modified-Since (a browser sends both)."""
    assert not ingest(sqlite_engine, [str(p) for p in demo_files()]).failed
    with TestClient(create_app(sqlite_engine)) as client:
        for url in ("/countries/ML", "/api/v1/countries"):
            first = client.get(url)
            etag, modified = first.headers["etag"], first.headers["last-modified"]
            assert etag.startswith('W/"')
            strong = etag.removeprefix("W/")
            for matches in (
                f'"other", {etag}',
                f'"other",{etag} , "more"',
                strong,  # the weak comparison: W/"x" and "x" are the same
                f'"a,b", {strong}',  # a comma inside a tag does not split it
                "*",
            ):
                again = client.get(url, headers={"If-None-Match": matches})
                assert again.status_code == 304, matches
                assert again.headers["etag"] == etag and again.content == b""
            assert (
                client.get(url, headers={"If-None-Match": '"other", W/"more"'}).status_code == 200
            )
            stale = {"If-None-Match": '"other"', "If-Modified-Since": modified}
            assert client.get(url, headers=stale).status_code == 200
            fresh = {"If-None-Match": etag, "If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}
            assert client.get(url, headers=fresh).status_code == 304


def test_snapshot_files_revalidate_by_any_of_their_tags(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    assert not ingest(sqlite_engine, [str(p) for p in demo_files()]).failed
    folder = tmp_path / "snap"
    snapshot.build(sqlite_engine, folder)
    url = f"/-/download/{snapshot.CSV_NAME}"
    with TestClient(create_app(sqlite_engine, snapshot_dir=folder)) as client:
        first = client.get(url)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        for matches in (etag, f'"old", {etag}', f"W/{etag}", "*"):
            again = client.get(url, headers={"If-None-Match": matches})
            assert again.status_code == 304 and again.content == b"", matches
            assert again.headers["etag"] == etag
        assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
        stale = {"If-None-Match": '"old"', "If-Modified-Since": modified}
        assert client.get(url, headers=stale).status_code == 200


def test_compression_cors_and_file_names(sqlite_engine: Engine) -> None:
    assert not ingest(sqlite_engine, [str(p) for p in demo_files()]).failed
    with TestClient(create_app(sqlite_engine)) as client:
        page = client.get("/countries/ML", headers={"Accept-Encoding": "gzip"})
        assert page.headers["content-encoding"] == "gzip"
        assert page.text.startswith("<!doctype html>")  # the client unpacked it
        raw = client.get("/api/v1/transactions?format=csv", headers={"Accept-Encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip"
        plain = client.get("/api/v1/transactions?format=csv", headers={"Accept-Encoding": ""})
        assert "content-encoding" not in plain.headers
        assert raw.content == plain.content

        api = client.get("/api/v1/countries", headers={"Origin": "https://example.org"})
        assert api.headers["access-control-allow-origin"] == "*"

        csv_page = client.get("/countries/ML.csv?year=2023")
        disposition = csv_page.headers["content-disposition"]
        assert 'filename="iatiportal-countries-ML-2023.csv"' in disposition
        listed = client.get("/api/v1/budgets?country=ML&year=2023&format=xlsx")
        disposition = listed.headers["content-disposition"]
        assert 'filename="iatiportal-budgets-ML-2023.xlsx"' in disposition


def test_the_api_answers_preflights_and_names_the_methods_it_allows(
    sqlite_engine: Engine,
) -> None:
    assert not ingest(sqlite_engine, [str(p) for p in demo_files()]).failed
    with TestClient(create_app(sqlite_engine)) as client:
        for url in (
            "/api/v1/activities?country=ML",
            "/api/v1/activities/XM-DAC-41146-MLI_D_1.1",
            "/api/v1/countries/ML",
            "/api/v1/openapi.json",
        ):
            preflight = client.options(
                url,
                headers={
                    "Origin": "https://example.org",
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "if-none-match",
                },
            )
            assert preflight.status_code == 204, url
            assert preflight.content == b""
            assert preflight.headers["access-control-allow-origin"] == "*"
            methods = preflight.headers["access-control-allow-methods"].split(", ")
            assert {"GET", "HEAD", "OPTIONS"} <= set(methods)
            allowed = preflight.headers["access-control-allow-headers"].lower().split(", ")
            assert "if-none-match" in allowed
            assert int(preflight.headers["access-control-max-age"]) >= 600

        for method, url in (("POST", "/api/v1/activities"), ("DELETE", "/api/v1/countries/ML")):
            refused = client.request(method, url)
            assert refused.status_code == 405, url
            assert refused.headers["content-type"].startswith("application/json")
            assert refused.headers["access-control-allow-origin"] == "*"
            assert set(refused.headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
            assert refused.json()["error"]["status"] == 405

        for method, url in (("POST", "/activities"), ("OPTIONS", "/countries/ML")):
            page = client.request(method, url)
            assert page.status_code == 405, url
            assert page.headers["content-type"].startswith("text/html")
            assert set(page.headers["allow"].split(", ")) == {"GET", "HEAD"}
            heading = BeautifulSoup(page.text, "html.parser").select_one("h1")
            assert heading is not None and heading.get_text(strip=True) == "Method not allowed"
