from espace_common.config import ConfigError, load_config, substitute

import pytest


def test_reference_takes_the_environment_value_and_its_type():
    assert substitute("${PORT:8000}", {"PORT": "9001"}) == 9001
    assert substitute("${PORT:8000}", {}) == 8000
    assert substitute("${FLAG:false}", {}) is False


def test_reference_inside_a_longer_string_stays_text():
    assert substitute("sqlite:///${DIR:var}/x.sqlite", {}) == "sqlite:///var/x.sqlite"
    assert substitute("amqp://${USER:guest}:${PASS:guest}@h/", {"PASS": "s3cr:et"}) == "amqp://guest:s3cr:et@h/"


def test_a_value_that_looks_like_yaml_structure_stays_a_string():
    assert substitute("${SECRET:x}", {"SECRET": "{a: 1}"}) == "{a: 1}"


def test_load_config_walks_nested_values(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text("A: ${A:1}\nB:\n  - ${B:two}\nC: {d: '${D:}'}\n")
    assert load_config(path, {"B": "deux"}) == {"A": 1, "B": ["deux"], "C": {"d": ""}}


def test_missing_file_names_the_setting(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path / "nope.yml")
    assert error.value.setting == "CONFIG_FILE"
