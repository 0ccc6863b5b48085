"""Isolation probes for the district-admin roster upload page (``/admin/roster/import``).

Kept apart from ``probes.py`` (the roster API probes are written there concurrently).
A's admin uploads a package that names B's records by their SIS sourcedIds: they must be
unknown references (the same answer as for ids that exist nowhere), nothing is imported,
and B's rows are untouched. A's student and an anonymous browser get nothing.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from tests.isolation.routes import probe
from tests.isolation.world import HttpResponse, World, assert_same_answer
from tests.roster.packages import delta_package, zip_package

PATH = "/admin/roster/import"


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


@probe(("GET", PATH), ("POST", PATH))
def probe_roster_import_page(world: World) -> None:
    admin = world.a.admin_client
    student = world.a.student_client
    assert admin is not None and student is not None
    page = admin.get(PATH)
    assert page.status_code == 200, page.text
    assert world.a.marker in page.text
    world.assert_clean(page)
    before = world.b_rows()

    def upload(school: str, term: str) -> HttpResponse:
        with tempfile.TemporaryDirectory() as tmp:
            body = f"c-probe,active,,{term},Probe,P1,03,{school},Math,"
            pkg = delta_package(Path(tmp), {"courses.csv": body})
            data = zip_package(pkg, Path(tmp) / "p.zip").read_bytes()
        return admin.post(
            PATH,
            data={"csrf_token": _csrf(admin.get(PATH).text)},
            files={"package": ("p.zip", data, "application/zip")},
        )

    b_school, b_term = world.b.marker, f"term-{world.b.marker}"
    with_b = upload(b_school, b_term)
    nowhere = upload("school-nowhere", "term-nowhere")
    assert with_b.status_code == 422, with_b.text
    assert "unknown" in with_b.text
    world.assert_clean(with_b, sent=[b_school, b_term])
    assert_same_answer(
        with_b, nowhere, replace=[(b_term, "term-nowhere"), (b_school, "school-nowhere")]
    )
    assert world.b_rows() == before
    # Not an admin: 403 without the form; no session: sent to sign in.
    for method in ("GET", "POST"):
        r = student.request(method, PATH)
        assert r.status_code == 403 and "csrf_token" not in r.text
        world.assert_clean(r)
        anonymous = world.browser().request(method, PATH, follow_redirects=False)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/login?")
