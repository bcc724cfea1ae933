"""The Grafana dashboard: well-formed, on a data source variable, and reading only metrics the code exposes
and docs/observability.md describes."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = json.loads((ROOT / "deploy" / "grafana" / "espace-famille.json").read_text())
DOC = (ROOT / "docs" / "observability.md").read_text()
SOURCES = "\n".join(path.read_text() for path in [
    ROOT / "libs" / "common" / "espace_common" / "observability.py", ROOT / "gateway" / "gateway" / "observability.py"])
PANELS = [panel for panel in DASHBOARD["panels"] if panel["type"] != "row"]
# Words in a PromQL expression that are functions, keywords or label names, not metrics.
PROMQL_WORDS = {"sum", "max", "min", "by", "rate", "delta", "histogram_quantile", "le", "route", "service",
                "method", "outcome", "status", "queue", "regie", "handler", "and", "or", "on"}


def metric_names(expr):
    expr = re.sub(r'"[^"]*"', "", re.sub(r"\[[^\]]*\]", "", expr))  # no label values, no ranges
    words = set(re.findall(r"[a-z_][a-z0-9_]*", expr)) - PROMQL_WORDS
    return {re.sub(r"_(bucket|count|sum|total)$", "", word) for word in words}


def test_the_dashboard_has_the_fields_grafana_needs():
    assert DASHBOARD["uid"] and DASHBOARD["title"] and isinstance(DASHBOARD["schemaVersion"], int)
    ids = [panel["id"] for panel in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    for panel in PANELS:
        assert panel["type"] in {"timeseries", "bargauge", "stat", "table"} and panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24 and grid["h"] > 0
        assert panel["targets"], panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs))


def test_no_two_panels_overlap():
    cells = set()
    for panel in DASHBOARD["panels"]:
        grid = panel["gridPos"]
        mine = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & mine, panel["title"]
        cells |= mine


def test_the_data_source_is_a_variable_every_panel_uses():
    variables = {v["name"]: v for v in DASHBOARD["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for panel in PANELS:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert all(target["datasource"]["uid"] == "${datasource}" for target in panel["targets"])
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == "${datasource}"


def test_every_metric_the_dashboard_reads_is_exposed_and_documented():
    used = set()
    for panel in PANELS:
        for target in panel["targets"]:
            used |= metric_names(target["expr"])
    assert used
    for name in sorted(used):
        assert f'"{name}"' in SOURCES, f"{name} is exposed by no code"
        assert f"`{name}" in DOC, f"{name} is not described in docs/observability.md"


@pytest.mark.parametrize("wanted", [
    "espace_gateway_requests_total", 'status=~"5..', "espace_gateway_request_duration_seconds_bucket",
    "espace_rpc_duration_seconds_bucket", "espace_outbox_pending", "espace_queue_messages",
    "espace_invoicing_runs", "espace_payments",
])
def test_the_panels_the_issue_asks_for_are_there(wanted):
    assert any(wanted in target["expr"] for panel in PANELS for target in panel["targets"])


def test_every_metric_the_doc_names_is_exposed():
    documented = set(re.findall(r"^\| `(espace_[a-z_]+)`", DOC, re.MULTILINE))
    assert len(documented) >= 12
    for name in documented:
        assert f'"{re.sub(r"_total$", "", name)}"' in SOURCES, name
