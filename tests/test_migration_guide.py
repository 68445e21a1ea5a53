"""The migration guide (docs/migrating.md) stays true: its spreadsheet is imported as the
guide says, and every answer, list and diff the guide shows is what the service answers."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

# The guide's dates are literals: this module runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "migrating.md"


def block(language: str, index: int = 0) -> str:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(), re.S)[index]


def table(heading: str) -> dict[str, str]:
    """The two-column table under a heading: first cell -> second cell."""
    section = GUIDE.read_text().split(heading, 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (.+?) \| (.+?) \|$", section, re.M)
    return {key: value for key, value in rows if not set(key) <= {"-", " "}}


def post(client, org, legal, **query):
    return client.post(
        f"/api/v1/orgs/{org['slug']}/subprocessors/history/import",
        data=block("csv"),
        content_type="text/csv",
        query_string={"source": "subprocessors.xlsx", **query},
        headers=legal,
    )


def test_the_dry_run_answers_what_the_guide_shows(client, org, legal):
    response = post(client, org, legal, dry_run="true")
    assert response.status_code == 200, response.json
    answer = {k: v for k, v in response.json.items() if k != "import_id"}
    assert answer == json.loads(block("json"))


def test_the_lists_and_the_diff_are_those_of_the_guide(client, org, legal):
    assert post(client, org, legal).status_code == 200
    api = f"/api/v1/orgs/{org['slug']}/subprocessors"
    lists = table("## 4. The list as of each version")
    assert len(lists) == 5  # the header row and four days
    for day, vendors in lists.items():
        if day == "as of":
            continue
        items = client.get(api, query_string={"as_of": day}).json["items"]
        assert (", ".join(i["name"] for i in items) or "(none)") == vendors, day
    diff = client.get(f"{api}/diff", query_string={"from": "2023-06-30", "to": "2024-06-30"}).json
    shown = table("## 5. The diff between two versions")
    assert shown["added"] == ", ".join(i["name"] for i in diff["added"])
    assert shown["removed"] == ", ".join(i["name"] for i in diff["removed"])
    changed = ", ".join(f"{c['name']} ({', '.join(c['changes'])})" for c in diff["changed"])
    assert shown["changed"] == changed


def test_one_file_per_version_gives_the_same_history(client, org, legal):
    header, *rows = block("csv").splitlines()
    files = {}
    for row in rows:
        day, rest = row.split(",", 1)
        files.setdefault(day, [header.split(",", 1)[1]]).append(rest)
    data = {
        f"version-{day}.csv": (io.BytesIO("\n".join(lines).encode()), f"{day}.csv")
        for day, lines in files.items()
    }
    response = client.post(
        f"/api/v1/orgs/{org['slug']}/subprocessors/history/import",
        data=data,
        content_type="multipart/form-data",
        query_string={"dry_run": "true", "source": "subprocessors.xlsx"},
        headers=legal,
    )
    assert response.status_code == 200, response.json
    assert response.json["changes"] == json.loads(block("json"))["changes"]


def test_a_file_without_a_day_in_its_name_is_refused(client, org, legal):
    response = client.post(
        f"/api/v1/orgs/{org['slug']}/subprocessors/history/import",
        data={"list": (io.BytesIO(b"name\n"), "list.csv")},
        content_type="multipart/form-data",
        headers=legal,
    )
    assert response.status_code == 400
    assert "list.csv" in response.json["detail"]
