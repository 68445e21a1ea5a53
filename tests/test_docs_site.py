"""The README stays a front door and the manual under docs/ builds, with no dead link."""

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
# Inline Markdown links and images: [text](target) or [text](target "title").
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def relative_links(path: Path) -> list[str]:
    """The relative link targets of a Markdown file, outside code blocks and code spans."""
    text = CODE_SPAN.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))
    targets = [match.group(1) for match in LINK.finditer(text)]
    return [t for t in targets if not urlsplit(t).scheme and not t.startswith(("#", "//"))]


def anchors(path: Path) -> set[str]:
    """The heading ids MkDocs' toc extension gives a page (its default slugify)."""
    ids = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = re.sub(r"[`*_]", "", line.lstrip("#").strip()).lower()
            ids.add(re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", title)).strip("-"))
    return ids


def fragment_found(file: Path, fragment: str) -> bool:
    """A link's #part names a heading of the Markdown page it points to."""
    return not fragment or file.suffix != ".md" or fragment in anchors(file)


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("**/*.md"))]


def test_readme_is_short_and_names_both_commands():
    size = README.stat().st_size
    assert size < 15 * 1024, f"README.md is {size} bytes; move detail into docs/"
    text = README.read_text(encoding="utf-8")
    assert "make run" in text
    assert "make test" in text


def test_readme_links_the_manual():
    linked = {Path(unquote(urlsplit(t).path)).name for t in relative_links(README)}
    for page in ("index.md", "architecture.md", "api-guide.md", "operations.md"):
        assert page in linked, f"README does not link docs/{page}"
    assert {"delivery.md", "threat-model.md", "legal-model.md"} <= linked


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path):
    broken = []
    for target in relative_links(path):
        parts = urlsplit(target)
        file = (path.parent / unquote(parts.path)).resolve() if parts.path else path
        if not file.exists() or not fragment_found(file, parts.fragment):
            broken.append(target)
    assert not broken, f"{path.name}: links that resolve to nothing: {broken}"


def test_the_link_checker_sees_a_dead_link(tmp_path: Path):
    page = tmp_path / "page.md"
    (tmp_path / "here.md").write_text("# Here\n\n## A part\n", encoding="utf-8")
    page.write_text(
        "[ok](here.md#a-part) [gone](gone.md) `[code](nowhere.md)` [web](https://x.test/)\n",
        encoding="utf-8",
    )
    assert relative_links(page) == ["here.md#a-part", "gone.md"]
    assert "a-part" in anchors(tmp_path / "here.md")


def test_the_site_builds_strictly(tmp_path: Path):
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    for page in ("index.html", "architecture/index.html", "api-guide/index.html"):
        assert (site / page).is_file(), page
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "Threat model" in home  # the nav reaches every section


def test_every_docs_page_is_in_the_nav():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r"([\w./-]+\.md)\s*$", config, re.MULTILINE))
    pages = {str(p.relative_to(DOCS)) for p in DOCS.glob("**/*.md")}
    assert pages == listed, f"not in the nav: {pages - listed}; missing: {listed - pages}"


def test_make_help_lists_the_docs_target():
    result = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert re.search(r"^\s*make docs\s+\S", result.stdout, re.MULTILINE), result.stdout


def documented_rows() -> list[str]:
    """The rows of the API guide's tables."""
    text = (DOCS / "api-guide.md").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.startswith("| `")]


def documented_path(rule: str) -> str:
    """`/api/v1/orgs/<org>/changes/<int:change_id>` as the guide writes it: `.../{id}`."""
    path = re.sub(r"<int:[a-z_]+>", "{id}", rule)
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", path)


def test_the_api_guide_lists_every_route(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from service import create_app

    monkeypatch.setenv("DPA_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    rows = documented_rows()
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/portal/", "/static/", "/docs")):
            continue  # the portal's pages are in docs/pages.md; /docs in docs/api.md
        found = re.compile(re.escape(documented_path(rule.rule)) + r"(?![\w/{.-])")
        cells = [row.split(" | ")[0] for row in rows if found.search(row.split(" | ")[0])]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if not any(method in cell for cell in cells):
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"routes the API guide's table does not list: {missing}"
