"""schemathesis against /api/v1/openapi.json: generated requests find no server errors and no
response that breaks the description (status codes, content types, schemas)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from iatiportal.demo import demo_files
from iatiportal.profile import bundled, load_portal
from iatiportal.store.db import make_engine, migrate
from iatiportal.store.load import ingest
from iatiportal.web.app import create_app

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
UNWOMEN = "iati/unwomen/XM-DAC-41146_unwomen_dportal-covid19-extract_2021-06-15.xml"


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Any:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.db'}")
    migrate(engine)
    assert not ingest(engine, [*map(str, demo_files()), str(shared / UNWOMEN)]).failed
    app = create_app(engine, load_portal([bundled("unwomen")]))
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


def test_api_keeps_its_description(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @given(operation.as_strategy())
        @settings(
            max_examples=50,
            deadline=None,
            derandomize=True,  # the same requests on every run: CI fails only on a real change
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case: Any) -> None:
            # Every item schema lists its properties and no others (issue 11): a body with a
            # key the description lacks, or without one it lists, fails here.
            case.call_and_validate(checks=CHECKS)

        conforms()
