"""The launcher finds a service's files whether or not its package was imported before."""
import subprocess
import sys

import pytest

from espace_common.config import ConfigError
from espace_common.launch import alembic_ini, config_file


def test_a_fresh_process_finds_the_files_of_a_package_it_never_imported():
    # A fresh interpreter, so that no other test can have imported the package first.
    script = ("import sys; from espace_common.launch import alembic_ini, config_file; "
              "assert 'payment' not in sys.modules; print(config_file('payment')); print(alembic_ini('payment'))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    config, ini = result.stdout.split()
    assert config.endswith("services/payment/config.yml") and ini.endswith("services/payment/alembic.ini")


def test_the_files_sit_beside_the_package():
    assert config_file("billing").is_file() and alembic_ini("billing").is_file()


def test_an_unknown_package_is_named_in_one_sentence():
    with pytest.raises(ConfigError, match="no installed service package is named nosuchservice"):
        config_file("nosuchservice")
