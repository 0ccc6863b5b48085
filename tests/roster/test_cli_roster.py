"""``homeroom roster import`` as a real subprocess: summary, JSON, every error located."""

from __future__ import annotations

import json
from pathlib import Path

from tests.functional.test_cli import env, run  # noqa: F401 (env is a fixture)
from tests.roster.packages import copy_sample, edit


def test_import_then_reimport_json(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    assert run(env, "migrate").returncode == 0
    assert run(env, "district", "create", "--slug", "rv", "--name", "Riverside").returncode == 0
    pkg = copy_sample(tmp_path)
    first = run(env, "roster", "import", "--district", "rv", str(pkg))
    assert first.returncode == 0, first.stderr
    assert "user          +31 ~0 -0 =0" in first.stdout
    again = run(env, "roster", "import", "--district", "rv", str(pkg), "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["ok"] is True and summary["events"] == 0
    assert summary["counts"]["enrollment"] == {
        "created": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": 42,
    }


def test_invalid_package_prints_every_error_and_exits_1(
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    assert run(env, "migrate").returncode == 0
    assert run(env, "district", "create", "--slug", "rv", "--name", "Riverside").returncode == 0
    pkg = copy_sample(tmp_path)
    edit(pkg, "users.csv", "true", "maybe", count=2)
    edit(pkg, "classes.csv", ",sch-oak,", ",sch-gone,")
    result = run(env, "roster", "import", "--district", "rv", str(pkg))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "error: classes.csv:2: column schoolSourcedId: unknown reference 'sch-gone': no such "
        "school",
        "error: users.csv:2: column enabledUser: bad boolean 'maybe': expected true or false",
        "error: users.csv:3: column enabledUser: bad boolean 'maybe': expected true or false",
        "error: package rejected with 3 error(s); nothing was imported",
    ]
    as_json = run(env, "roster", "import", "--district", "rv", str(pkg), "--json")
    assert as_json.returncode == 1
    assert len(json.loads(as_json.stdout)["issues"]) == 3
    users = run(env, "roster", "import", "--district", "nowhere", str(pkg))
    assert users.returncode == 1 and users.stderr.startswith("error: district 'nowhere'")


def test_sharing_set_and_show(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    assert run(env, "migrate").returncode == 0
    assert run(env, "district", "create", "--slug", "rv", "--name", "Riverside").returncode == 0
    assert (
        run(env, "roster", "import", "--district", "rv", str(copy_sample(tmp_path))).returncode == 0
    )
    created = run(
        env,
        "app",
        "create",
        "--name",
        "Reader",
        "--redirect-uri",
        "https://reader.example/cb",
        "--json",
    )
    client_id = json.loads(created.stdout)["client_id"]
    not_yet = run(env, "sharing", "show", "--district", "rv", "--app", client_id)
    assert not_yet.returncode == 1 and "not connected" in not_yet.stderr
    changed = run(
        env,
        "sharing",
        "set",
        "--district",
        "rv",
        "--app",
        client_id,
        "--mode",
        "rules",
        "--rule",
        "grade=3",
        "--fields",
        "basic,email",
        "--json",
    )
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["changes"]["user"] == {"shared": 14, "unshared": 0}
    shown = run(env, "sharing", "show", "--district", "rv", "--app", client_id, "--json")
    info = json.loads(shown.stdout)
    assert info["records"]["user"]["count"] == 14
    assert "email" in info["records"]["user"]["fields"]
    human = run(env, "sharing", "show", "--district", "rv", "--app", client_id)
    assert "user                14" in human.stdout
    bad = run(
        env,
        "sharing",
        "set",
        "--district",
        "rv",
        "--app",
        client_id,
        "--mode",
        "rules",
        "--rule",
        "colour=red",
    )
    assert bad.returncode == 1 and bad.stderr.startswith("error: rule 1: unknown condition")
