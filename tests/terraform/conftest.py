import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "scripts"))

import hcl  # noqa: E402
from localstack.settings import Pipeline  # noqa: E402

REPO = HERE.parents[1]
TERRAFORM = REPO / "terraform"
MODULES = TERRAFORM / "modules"
SQL_DIR = REPO / "snowflake"


def module_dirs() -> list[Path]:
    return sorted(p for p in MODULES.iterdir() if p.is_dir())


def tf_files(directory: Path = TERRAFORM) -> list[Path]:
    return sorted(directory.rglob("*.tf"))


@pytest.fixture(scope="session")
def config() -> dict:
    return json.loads((REPO / "config" / "pipeline.json").read_text())


@pytest.fixture(scope="session")
def pipeline(config) -> Pipeline:
    """The config with its name templates expanded by their one Python owner."""
    return Pipeline(config)


@pytest.fixture(scope="session")
def parsed() -> dict[Path, dict]:
    """Every .tf file of terraform/, parsed and normalised, by path."""
    return {path: hcl.load(path) for path in tf_files()}


@pytest.fixture(scope="session")
def merged(parsed):
    """Per directory (root module and each module), all its files' blocks together."""

    def of(directory: Path) -> dict[str, list]:
        result: dict[str, list] = {}
        for path, tree in parsed.items():
            if path.parent == directory:
                for kind, entries in tree.items():
                    result.setdefault(kind, []).extend(entries)
        return result

    return of
