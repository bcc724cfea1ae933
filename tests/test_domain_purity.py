"""Every service's domain imports neither nameko nor SQLAlchemy (docs/architecture.md).

Each domain module is imported alone in a fresh interpreter, so that what another test imported first
cannot hide what the domain drags in.
"""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = ("nameko", "sqlalchemy")


def domain_modules():
    """services/<name>/<package>/domain*.py and domain/ packages, as importable module names."""
    found = set()
    for path in sorted(ROOT.glob("services/*/*/domain*")):
        package = path.parent.name
        if path.suffix == ".py":
            found.add(f"{package}.{path.stem}")
        elif path.is_dir() and (path / "__init__.py").exists():
            found.add(f"{package}.{path.name}")
            found.update(f"{package}.{path.name}.{module.stem}" for module in path.glob("*.py")
                         if module.stem != "__init__")
    return sorted(found)


PROBE = """
import importlib, sys
importlib.import_module(sys.argv[1])
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in {frameworks!r})))
"""


def test_there_are_domains_to_check():
    assert "canteen.domain" in domain_modules()


@pytest.mark.parametrize("module", domain_modules())
def test_a_domain_imports_no_framework(module):
    result = subprocess.run([sys.executable, "-c", PROBE.format(frameworks=set(FRAMEWORKS)), module],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [], f"{module} imports {result.stdout.strip()}"
