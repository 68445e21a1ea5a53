"""Reference data: the packaged files are sound and sourced, the loaders judge dates by the
windows in them, and an operator's directory replaces them without a code change."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from service import reference
from service.recipients.schemas import DEROGATION_GROUNDS
from service.reference import Place

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")


def test_the_packaged_files_are_sound_sourced_and_dated():
    assert reference.problems() == []
    for name in reference.FILES:
        data = json.loads((reference.DATA / f"{name}.json").read_text(encoding="utf-8"))
        assert data["source"], name
        date.fromisoformat(data["retrieved_on"])


def test_a_broken_file_is_reported(ctx, tmp_path, monkeypatch):
    (tmp_path / "adequacy.json").write_text(
        json.dumps(
            {
                "source": "test",
                "retrieved_on": "2026-01-01",
                "decisions": [
                    {"id": "X", "country": "XX", "decision": "none", "from": "2020-01-01"},
                    {
                        "id": "Y",
                        "country": "JP",
                        "decision": "y",
                        "from": "2020-01-01",
                        "until": "2019-01-01",
                    },
                ],
            }
        )
    )
    monkeypatch.setitem(ctx.config, "REFERENCE_DATA_DIR", str(tmp_path))
    found = reference.problems()
    assert any("XX is no ISO 3166-1 code" in p for p in found)
    assert any("ends before it starts" in p for p in found)


@pytest.mark.parametrize(
    ("country", "day", "eu", "eea"),
    [
        ("PL", date(2004, 4, 30), False, False),
        ("PL", date(2004, 5, 1), True, True),
        ("NO", date(2024, 1, 1), False, True),
        ("GB", date(2020, 12, 31), True, True),
        ("GB", date(2021, 1, 1), False, False),
        ("US", date(2024, 1, 1), False, False),
    ],
)
def test_eu_and_eea_membership_is_dated(country, day, eu, eea):
    assert reference.in_eu(country, day) is eu
    assert reference.in_eea(country, day) is eea


@pytest.mark.parametrize(
    ("place", "day", "covered"),
    [
        # The UK: the Trade and Cooperation Agreement's bridge, the 2021 decision, its
        # extension and the renewal of December 2025 to 27 December 2031.
        ("GB", date(2021, 3, 1), True),
        ("GB", date(2025, 9, 1), True),
        ("GB", date(2026, 11, 1), True),
        ("GB", date(2031, 12, 27), True),
        ("GB", date(2031, 12, 28), False),
        ("CH", date(2024, 1, 1), True),
        ("JP", date(2018, 12, 1), False),
        ("JP", date(2019, 2, 1), True),
        ("KR", date(2022, 1, 1), True),
        ("BR", date(2025, 12, 31), False),
        ("BR", date(2026, 2, 1), True),
        ("CN", date(2026, 1, 1), False),
        ("IN", date(2026, 1, 1), False),
        (Place(organisation="European Patent Office"), date(2025, 7, 14), False),
        (Place(organisation="european patent organisation"), date(2025, 7, 15), True),
        (Place(organisation="UNICEF"), date(2026, 1, 1), False),
    ],
)
def test_adequacy_follows_each_decision_window(place, day, covered):
    assert reference.adequacy_covers(place, day) is covered


@pytest.mark.parametrize(
    ("day", "framework"),
    [
        (date(2010, 6, 1), "safe_harbour"),
        (date(2015, 10, 6), None),
        (date(2019, 6, 1), "privacy_shield"),
        (date(2020, 7, 15), "privacy_shield"),
        (date(2020, 7, 16), None),
        (date(2023, 7, 9), None),
        (date(2023, 7, 10), "dpf"),
        (date(2026, 11, 1), "dpf"),
    ],
)
def test_the_us_is_covered_for_certified_importers_by_the_framework_of_the_day(day, framework):
    found = reference.us_framework_on(day)
    assert (found or {}).get("instrument") == framework
    assert reference.adequacy_covers("US", day) is False
    assert reference.adequacy_covers("US", day, dpf_certified=True) is (framework is not None)


@pytest.mark.parametrize(
    ("name", "day", "valid"),
    [
        ("privacy_shield", date(2020, 7, 15), True),
        ("privacy_shield", date(2020, 7, 16), False),
        ("dpf", date(2023, 7, 9), False),
        ("dpf", date(2023, 7, 10), True),
        ("scc_2010", date(2022, 12, 27), True),
        ("scc_2010", date(2022, 12, 28), False),
        ("scc_2021", date(2021, 6, 26), False),
        ("scc_2021", date(2021, 6, 27), True),
        ("GB-2021", date(2025, 12, 27), True),
        ("GB-2021", date(2025, 12, 28), False),
    ],
)
def test_instruments_have_validity_windows(name, day, valid):
    assert reference.instrument_valid(name, day) is valid


def test_an_unknown_instrument_is_an_error_not_false():
    with pytest.raises(KeyError):
        reference.instrument_valid("safe_harbour_2", date(2020, 1, 1))


def test_scc_sets_follow_the_signing_date_then_the_date_judged():
    assert reference.scc_instrument(date(2020, 1, 1))["id"] == "scc_2010"
    assert reference.scc_instrument(date(2024, 1, 1))["id"] == "scc_2021"
    assert reference.scc_instrument(date(2024, 1, 1), date(2020, 5, 1))["id"] == "scc_2010"
    assert reference.scc_instrument(date(2024, 1, 1), date(2021, 7, 1))["id"] == "scc_2021"


def test_the_four_scc_modules_pair_the_roles():
    assert {(m["exporter"], m["importer"]): n for n, m in reference.scc_modules().items()} == {
        ("controller", "controller"): 1,
        ("controller", "processor"): 2,
        ("processor", "processor"): 3,
        ("processor", "controller"): 4,
    }
    assert reference.scc_module_for("processor", "processor") == 3
    assert reference.clause9_modules() == {2, 3}


def test_art_49_grounds_match_what_the_schema_accepts():
    grounds = reference.derogation_grounds()
    assert set(grounds) == set(DEROGATION_GROUNDS)
    assert (
        grounds["compelling_legitimate_interests"]["article"] == "Art. 49(1), second subparagraph"
    )


def test_adequacy_scope_is_recorded_for_partial_decisions():
    assert "PIPEDA" in reference.adequacy_on("CA", date(2024, 1, 1))["scope"]
    assert "certified" in reference.adequacy_on("US", date(2024, 1, 1))["scope"]
    assert "scope" not in reference.adequacy_on("CH", date(2024, 1, 1))


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "reference"
    shutil.copytree(reference.DATA, target)
    return target


def _end_dpf(directory: Path, until: str) -> None:
    path = directory / "adequacy.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for decision in data["decisions"]:
        if decision.get("instrument") == "dpf":
            decision["until"] = until
    path.write_text(json.dumps(data), encoding="utf-8")


def test_an_override_directory_replaces_the_files_it_holds(ctx, tmp_path, monkeypatch):
    directory = tmp_path / "only-adequacy"
    directory.mkdir()
    shutil.copy(reference.DATA / "adequacy.json", directory / "adequacy.json")
    _end_dpf(directory, "2024-12-31")
    day = date(2025, 6, 1)
    assert reference.adequacy_covers("US", day, dpf_certified=True)
    monkeypatch.setitem(ctx.config, "REFERENCE_DATA_DIR", str(directory))
    assert not reference.adequacy_covers("US", day, dpf_certified=True)
    assert reference.adequacy_covers("US", date(2024, 12, 31), dpf_certified=True)
    # Files the directory lacks still come from the package.
    assert reference.is_country("PL")
    assert reference.in_eu("PL", day)
    assert reference.path_of("eea") == reference.DATA / "eea.json"


def test_a_replaced_file_is_read_again_without_a_restart(ctx, tmp_path, monkeypatch):
    directory = _copy(tmp_path)
    monkeypatch.setitem(ctx.config, "REFERENCE_DATA_DIR", str(directory))
    day = date(2026, 3, 1)
    assert reference.adequacy_covers("US", day, dpf_certified=True)
    _end_dpf(directory, "2026-02-28")
    # A new modification time, even on a file system with coarse timestamps.
    stat = (directory / "adequacy.json").stat()
    os.utime(directory / "adequacy.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert not reference.adequacy_covers("US", day, dpf_certified=True)
    assert reference.retrieved_on()["adequacy"] == "2026-11-21"


def test_outside_an_app_the_packaged_files_are_used():
    assert reference.data_dir() is None
    assert reference.path_of("adequacy") == reference.DATA / "adequacy.json"


def test_a_pinned_block_reads_each_file_once_and_the_next_block_reads_it_again(
    ctx, tmp_path, monkeypatch
):
    directory = _copy(tmp_path)
    monkeypatch.setitem(ctx.config, "REFERENCE_DATA_DIR", str(directory))
    day = date(2026, 3, 1)
    with reference.pinned():
        assert reference.adequacy_covers("US", day, dpf_certified=True)
        _end_dpf(directory, (day - timedelta(days=1)).isoformat())  # ends the day before
        stat = (directory / "adequacy.json").stat()
        os.utime(directory / "adequacy.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        # One rendering judges every vendor by the same files, read once...
        assert reference.adequacy_covers("US", day, dpf_certified=True)
        with reference.pinned():  # (a nested block shares them)
            assert reference.adequacy_covers("US", day, dpf_certified=True)
    # ...and the next one follows the replaced file.
    assert not reference.adequacy_covers("US", day, dpf_certified=True)
    with reference.pinned():
        assert not reference.adequacy_covers("US", day, dpf_certified=True)
