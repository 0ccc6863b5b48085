"""``homeroom demo`` + the bundled demo relying party at ``/demo-app/``: a student signs
in through the real server, the page shows who signed in, and logout ends both sessions."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from homeroom.demo import seed_demo
from homeroom.storage.sql.migrate import upgrade
from homeroom.web.app import create_app
from homeroom.wiring import build
from tests.conftest import SqlTarget, make_settings
from tests.e2e.conftest import serve
from tests.services import free_port


def test_demo_app_sign_in_show_and_logout(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'homeroom.db'}"
    upgrade(url)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    container = build(make_settings(SqlTarget("sqlite", url, url, ""), tmp_path, issuer=issuer))
    info = seed_demo(container)
    assert (container.settings.data_dir / "demo-app.json").exists()
    browser = requests.Session()
    try:
        with serve(create_app(container), port):
            home = browser.get(f"{issuer}/demo-app/", timeout=5)
            assert "Log in with Homeroom" in home.text
            r = browser.get(f"{issuer}/demo-app/login", allow_redirects=True, timeout=10)
            assert "/login" in r.url and "Maplewood" in r.text  # district known from the app
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
            nxt = re.search(r'name="next" value="([^"]+)"', r.text)
            assert csrf and nxt
            shown = browser.post(
                f"{issuer}/login",
                data={
                    "csrf_token": csrf.group(1),
                    "next": nxt.group(1).replace("&amp;", "&"),
                    "district": info.district_slug,
                    "username": info.student_username,
                    "password": info.student_password,
                },
                timeout=10,
            )
            assert shown.url == f"{issuer}/demo-app/"
            assert "Signed in as" in shown.text and info.district_id in shown.text
            out = browser.get(f"{issuer}/demo-app/logout", timeout=10)
            assert out.url == f"{issuer}/demo-app/" and "Log in with Homeroom" in out.text
            silent = browser.get(f"{issuer}/demo-app/login", allow_redirects=True, timeout=10)
            assert "/login" in silent.url  # the Homeroom session ended too
    finally:
        container.close()


def test_no_demo_app_without_its_credentials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'homeroom.db'}"
    upgrade(url)
    container = build(make_settings(SqlTarget("sqlite", url, url, ""), tmp_path))
    try:
        from fastapi.testclient import TestClient

        with TestClient(create_app(container)) as client:
            assert client.get("/demo-app/").status_code == 404
    finally:
        container.close()
