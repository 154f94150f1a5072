"""The dependency rule in pyproject.toml ([tool.importlinter]), checked by import-linter: the tree keeps
every contract, and a module that breaks one turns `lint-imports` red, naming the contract and the import.

The broken trees are copies (Python files and pyproject.toml only) with one throwaway module added;
the checkout itself is never written to."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
CONTRACTS = {contract["id"]: contract["name"] for contract in CONFIG["contracts"]}


def _lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(cwd),
        "COLUMNS": "1000",  # one line per finding, so that names are never wrapped
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _copy_tree(dest: Path) -> Path:
    """The root packages' Python files and pyproject.toml, as the contracts see them."""

    def not_python(folder, names):
        return [
            n for n in names if n == "__pycache__" or not (n.endswith(".py") or (Path(folder) / n).is_dir())
        ]

    for package in CONFIG["root_packages"]:
        shutil.copytree(ROOT / package, dest / package, ignore=not_python)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_the_tree_keeps_every_import_contract():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


# Each: the contract, the throwaway files (path: source), and an import the report must name.
VIOLATIONS = {
    "a lower layer imports a higher one": (
        "layers",
        {"papers/zz_violation.py": "from newsletter.models import Delivery  # noqa\n"},
        "papers.zz_violation -> newsletter.models",
    ),
    "the lowest app imports the project package": (
        "layers",
        {"papers/zz_violation.py": "from config.celery import app  # noqa\n"},
        "papers.zz_violation -> config.celery",
    ),
    "an app imports the test harness": (
        "test-code",
        {"newsletter/zz_violation.py": "from testsupport.http import LoopbackServer  # noqa\n"},
        "newsletter.zz_violation -> testsupport.http",
    ),
    "the project package imports a benchmark": (
        "test-code",
        {"config/zz_violation.py": "import benchmarks.tagging  # noqa\n"},
        "config.zz_violation -> benchmarks.tagging",
    ),
    "the test harness imports a benchmark": (
        "test-code",
        {"testsupport/zz_violation.py": "import benchmarks.tagging  # noqa\n"},
        "testsupport.zz_violation -> benchmarks.tagging",
    ),
    "runtime papers code imports the dev-set harness": (
        "devset-harness",
        {"papers/parsing/zz_violation.py": "import papers.devset.sampling  # noqa\n"},
        "papers.parsing.zz_violation -> papers.devset.sampling",
    ),
    "two modules of an app import each other": (
        "no-cycles",
        {
            "subscriptions/zz_violation/__init__.py": "",
            "subscriptions/zz_violation/first.py": "from . import second  # noqa\n",
            "subscriptions/zz_violation/second.py": "from . import first  # noqa\n",
        },
        "No cycles are allowed in subscriptions.zz_violation.",
    ),
}


@pytest.mark.parametrize("case", VIOLATIONS)
def test_a_module_breaking_a_contract_turns_lint_imports_red(tmp_path, case):
    contract, files, finding = VIOLATIONS[case]
    tree = _copy_tree(tmp_path)
    for path, source in files.items():
        (tree / path).parent.mkdir(exist_ok=True)
        (tree / path).write_text(source, encoding="utf-8")
    result = _lint_imports(tree, "--contract", contract)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"{CONTRACTS[contract]} BROKEN" in output
    assert finding in output


def test_an_apps_tests_may_import_anything(tmp_path):
    tree = _copy_tree(tmp_path)
    (tree / "papers/tests/zz_allowed.py").write_text(
        "import benchmarks.tagging  # noqa\nimport config.celery  # noqa\n"
        "import newsletter.models  # noqa\nimport testsupport.http  # noqa\n",
        encoding="utf-8",
    )
    result = _lint_imports(tree, "--contract", "layers", "--contract", "test-code")
    assert "zz_allowed" not in result.stdout + result.stderr
