"""docs/latency.md models POST -> queryable latency from settings of config/pipeline.json and from
cited documentation. The settings it uses must be the configured ones, so the model drifts loudly
when the configuration changes, and every source it cites must be a URL listed under "Sources"."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIREHOSE = json.loads((ROOT / "config" / "pipeline.json").read_text())["firehose"]
DOC = (ROOT / "docs" / "latency.md").read_text()

# How the document states a configured figure: `firehose.<key>` = <value> (a multiple of one,
# "1.5 × `firehose.<key>` = …", is a derived figure, checked on its own).
CONFIG_FIGURE = re.compile(r"(?<!× )`firehose\.(\w+)` = (\d+(?:\.\d+)?)")
# Firehose documents a delay of up to 1.5 times the buffering hint with dynamic partitioning.
MULTI_STAGE_CEILING = re.compile(r"1\.5 × `firehose\.buffer_interval_seconds` = (\d+(?:\.\d+)?) s")
LINK = re.compile(r"\[[^\]]+\]\((https://[^)\s]+)\)")
SOURCES_LINE = re.compile(r"- <(https://[^>\s]+)> — \S.*")
# The buffers the model is built on: each must be stated at least once.
MODELLED_SETTINGS = {
    "buffer_interval_seconds",
    "buffer_size_mib",
    "processor_buffer_interval_seconds",
    "processor_buffer_size_mib",
}


def section(title: str) -> str:
    """The text under `## <title>`, up to the next second-level heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", DOC, re.MULTILINE | re.DOTALL)
    assert match, f"docs/latency.md has no '## {title}' section"
    return match.group(1)


def tables() -> list[tuple[list[str], list[list[str]]]]:
    """Every markdown table of the document as (header cells, body rows of cells)."""
    found, lines = [], DOC.splitlines()
    for index, line in enumerate(lines[:-1]):
        if line.startswith("|") and re.fullmatch(r"\|( *-+ *\|)+", lines[index + 1].strip()):
            header = [cell.strip() for cell in line.strip().strip("|").split("|")]
            rows = []
            for body in lines[index + 2:]:
                if not body.startswith("|"):
                    break
                rows.append([cell.strip() for cell in body.strip().strip("|").split("|")])
            found.append((header, rows))
    return found


def source_cells() -> list[str]:
    cells = []
    for header, rows in tables():
        if "source" in header:
            column = header.index("source")
            cells += [row[column] for row in rows]
    return cells


def test_every_configured_figure_is_the_configured_value():
    figures = CONFIG_FIGURE.findall(DOC)
    assert MODELLED_SETTINGS <= {key for key, _ in figures}, figures
    for key, value in figures:
        assert key in FIREHOSE, f"docs/latency.md cites firehose.{key}, which config/pipeline.json lacks"
        assert float(value) == FIREHOSE[key], (
            f"docs/latency.md models firehose.{key} = {value}; config/pipeline.json has {FIREHOSE[key]}"
        )


def test_the_multi_stage_ceiling_follows_the_buffer_interval():
    ceilings = MULTI_STAGE_CEILING.findall(DOC)
    assert ceilings, "the model must state Firehose's 1.5x multi-stage ceiling"
    for ceiling in ceilings:
        assert float(ceiling) == 1.5 * FIREHOSE["buffer_interval_seconds"], (
            f"the 1.5x ceiling is {ceiling} s; config/pipeline.json's interval makes it "
            f"{1.5 * FIREHOSE['buffer_interval_seconds']:g} s"
        )


def test_every_source_cell_is_only_links_to_urls():
    cells = source_cells()
    assert len(cells) >= 10, "the stage tables lost their source column"
    for cell in cells:
        assert LINK.search(cell), f"a stage without a source: {cell!r}"
        assert LINK.sub("", cell).strip(" ,") == "", f"a source cell with more than links: {cell!r}"


def test_every_line_of_the_sources_section_is_a_url():
    lines = [line for line in section("Sources").splitlines() if line.strip()]
    assert lines
    listed = set()
    for line in lines:
        match = SOURCES_LINE.fullmatch(line)
        assert match, f"not a '- <https://…> — what it says' line: {line!r}"
        listed.add(match.group(1))
    cited = set(LINK.findall(DOC))
    assert cited - listed == set(), "cited but not listed under Sources"
    assert listed - cited == set(), "listed under Sources but cited nowhere"
