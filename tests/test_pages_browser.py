"""The pages customers and the public read, in Chromium at desktop and phone width, each
passing axe-core (no serious or critical finding) with nothing scrolling sideways; and the
kit's own checks, shown to catch what they are for."""

from __future__ import annotations

import pytest

from tests import browser_kit
from tests.browser_kit import check_axe, no_horizontal_overflow

pytestmark = pytest.mark.browser
browser = browser_kit.browser


def test_the_kit_catches_an_axe_violation_and_sideways_scrolling(browser):
    page = browser.new_page(viewport={"width": 390, "height": 600})
    try:
        page.set_content(
            '<html lang="en"><body><main><h1>Kit</h1>'
            '<p><img src="data:,"> <a href="#x"></a></p>'
            '<pre style="width: 900px">wide</pre></main></body></html>'
        )
        with pytest.raises(AssertionError) as found:
            check_axe(page)
        assert "critical image-alt" in str(found.value)
        assert "serious link-name" in str(found.value)
        with pytest.raises(AssertionError, match="PRE"):
            no_horizontal_overflow(page)
    finally:
        page.close()
