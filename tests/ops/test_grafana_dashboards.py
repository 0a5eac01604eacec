"""ops/grafana/: the committed dashboards are what ops/grafana/dashboards.py generates, and Grafana's
provisioning names the data source every panel reads."""

import json

import yaml

from ops.grafana.dashboards import DASHBOARDS_DIR, DATASOURCE, all_dashboards, panel_queries, render

PROVISIONING = DASHBOARDS_DIR.parent / "provisioning"


def test_the_committed_dashboards_are_the_generated_ones() -> None:
    generated = {name: render(dashboard) for name, dashboard in all_dashboards().items()}
    committed = {path.name: path.read_text() for path in DASHBOARDS_DIR.glob("*.json")}
    assert committed == generated, "run `python -m ops.grafana.dashboards` and commit the result"


def test_every_panel_has_a_query_on_the_provisioned_data_source() -> None:
    datasources = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert [(source["uid"], source["type"]) for source in datasources] == [(DATASOURCE["uid"], DATASOURCE["type"])]
    for name in all_dashboards():
        document = json.loads((DASHBOARDS_DIR / name).read_text())
        assert document["panels"]
        for item in document["panels"]:
            assert item["datasource"] == DATASOURCE, (name, item["title"])
            assert item["targets"], (name, item["title"])
        assert all(expr for _, expr in panel_queries(document)), name
