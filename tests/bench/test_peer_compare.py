"""`bench/run --peer`: the peer's figures beside Carnet's, from a recorded run (data/peer_sample.json,
a tiny SQLite run). Nothing here installs or runs the peer, nor reaches the network."""

import copy
import json
from pathlib import Path

from bench.peer.compare import compare, comparison_lines, peer_section
from bench.peer.runner import libpq_url, peer_command
from bench.workloads import SIZES

SAMPLE = json.loads((Path(__file__).parent / "data" / "peer_sample.json").read_text())


def _sample():
    return copy.deepcopy(SAMPLE["carnet_workloads"]), copy.deepcopy(SAMPLE["peers"])


def test_each_peer_figure_stands_beside_the_matching_carnet_figure_with_its_ratio():
    carnet, peers = _sample()
    pairs = {pair["peer"]: pair for pair in compare(carnet, peers)["pairs"]}
    assert {key: pairs[key]["carnet"] for key in pairs} == {
        "W1_slots_1day": "B1 slots 1 day, service", "W1_slots_14days": "B1 slots 14 days, service",
        "W3_http_json_1day": "B1 slots 1 day, HTTP", "W3_http_json_14days": "B1 slots 14 days, HTTP",
        "W2_book_model_path": "B2 booking, service", "W2h_book_http_views": "B2 booking, API"}
    fourteen = pairs["W1_slots_14days"]
    assert (fourteen["database"], fourteen["carnet_median_ms"], fourteen["peer_median_ms"]) == ("sqlite", 6.646,
                                                                                                 326.778)
    assert fourteen["median_ratio"] == 49.2 and fourteen["p95_ratio"] == 57.4  # 326.778 / 6.646, 462.632 / 8.065
    assert (fourteen["carnet_queries"], fourteen["peer_queries"]) == (2, 268)
    assert pairs["W2_book_model_path"]["p95_ratio"] == 0.5  # below 1: the peer was faster at p95
    assert "ONE request" in pairs["W3_http_json_14days"]["note"]
    assert "14 requests" in pairs["W3_http_json_14days"]["note"]


def test_a_figure_missing_on_either_side_gives_no_pair():
    carnet, peers = _sample()
    carnet = [workload for workload in carnet if workload["name"] != "B2 booking, API"]
    del peers["sqlite"]["workloads"]["W1_slots_1day"]
    peers["postgresql"] = copy.deepcopy(peers["sqlite"]) | {"database": "postgresql"}  # no Carnet PostgreSQL run
    comparison = compare(carnet, peers)
    assert sorted(pair["peer"] for pair in comparison["pairs"]) == [
        "W1_slots_14days", "W2_book_model_path", "W3_http_json_14days", "W3_http_json_1day"]
    assert [race["database"] for race in comparison["races"]] == ["sqlite"]


def test_no_ratio_without_a_figure():
    carnet, peers = _sample()
    for workload in carnet:
        if workload["name"] == "B1 slots 1 day, service":
            workload["median_ms"] = None
    [pair] = [pair for pair in compare(carnet, peers)["pairs"] if pair["peer"] == "W1_slots_1day"]
    assert pair["median_ratio"] is None and pair["p95_ratio"] == 4.1


def test_the_races_are_set_side_by_side():
    carnet, peers = _sample()
    [race] = compare(carnet, peers)["races"]
    assert race == {
        "database": "sqlite", "processes": 8,
        "carnet": {"trials": 1, "succeeded_per_trial": [1], "double_booked_trials": 0,
                   "sequential_attempts_accepted": 0},
        "peer_views_2_posts": {"trials": 1, "succeeded_per_trial": [8], "double_booked_trials": 1,
                               "sequential_attempts_accepted": 1},
        "peer_check_then_book": {"trials": 1, "succeeded_per_trial": [8], "double_booked_trials": 1,
                                 "sequential_attempts_accepted": 0}}


def test_the_json_line_carries_the_peer_figures_and_the_ratios():
    carnet, peers = _sample()
    section = json.loads(json.dumps(peer_section(peers, compare(carnet, peers)), ensure_ascii=False))
    assert section["name"] == "django-appointment"
    assert section["versions"]["django-appointment"] == "3.12.0"
    assert section["figures"]["sqlite"]["workloads"]["W2h_book_http_views"]["queries"] == 24
    assert len(section["pairs"]) == 6 and len(section["races"]) == 1


def test_the_printed_table_shows_each_ratio_and_race():
    carnet, peers = _sample()
    text = "\n".join(comparison_lines(compare(carnet, peers)))
    assert "W1_slots_14days        B1 slots 14 days, service   sqlite" in text
    assert "49.2×" in text and "57.4×" in text
    assert "SQL statements: Carnet 2, peer 268" in text
    assert "peer_views_2_posts     succeeded per trial [8], double-booked trials 1/1" in text
    assert "carnet                 succeeded per trial [1], double-booked trials 0/1" in text


def test_the_peer_command_takes_the_protocol_sizes_and_a_libpq_url(tmp_path):
    assert libpq_url("postgresql+psycopg://bench@127.0.0.1:5433/carnet") == "postgresql://bench@127.0.0.1:5433/carnet"
    command = peer_command(tmp_path / "python", SIZES["quick"], tmp_path / "site", tmp_path / "out.json",
                           "postgresql+psycopg://bench@127.0.0.1:5433/carnet", 42)
    options = dict(zip(command[2::2], command[3::2], strict=True))
    assert command[1].endswith("bench/peer/appointment_peer.py")
    assert options == {"--workdir": str(tmp_path / "site"), "--output": str(tmp_path / "out.json"), "--seed": "42",
                       "--patients": "200", "--appointments": "5000", "--runs": "50", "--bookings": "200",
                       "--race-trials": "5", "--race-processes": "8",
                       "--postgres-url": "postgresql://bench@127.0.0.1:5433/carnet"}
    assert "--postgres-url" not in peer_command(tmp_path / "python", SIZES["tiny"], tmp_path, tmp_path / "o", None, 42)
