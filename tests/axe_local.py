"""axe-core in a Playwright page, until the shared browser kit lands: swap the import for it.

Reads node_modules/axe-core/axe.min.js (`npm install axe-core`), injects it into the page
and fails on any violation of impact serious or critical. In CI (`CI` set) a missing
axe-core fails; locally it skips with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
FAILING = frozenset({"serious", "critical"})
RUN = """
async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ")),
  }));
}
"""


def axe_source() -> str:
    if not AXE.exists():
        reason = f"{AXE} is missing: npm install axe-core"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE.read_text("utf-8")


def assert_accessible(page) -> None:
    """No serious or critical axe-core violation on the page as it is now. The page's
    context needs `bypass_csp=True`: our CSP refuses inline scripts, axe's included."""
    page.add_script_tag(content=axe_source())
    violations = [v for v in page.evaluate(RUN) if v["impact"] in FAILING]
    assert violations == [], violations
