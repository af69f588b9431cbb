"""The peer's figures beside Carnet's matching ones: pairs, ratios, races, for the table and the JSON line.

Each ratio is the peer's figure divided by Carnet's (above 1: Carnet is faster). Both inputs are the
JSON forms (Carnet's `Result.as_dict()`, the peer's output file), so that a recorded run can be compared
again without running anything."""

PEER_NAME = "django-appointment"

# (peer key, Carnet workload, what differs between the two operations)
PAIRS = [
    ("W1_slots_1day", "B1 slots 1 day, service", "one call each"),
    ("W1_slots_14days", "B1 slots 14 days, service",
     "Carnet: one call for the 14 days; peer: 14 calls, one per day (it has no multi-day API)"),
    ("W3_http_json_1day", "B1 slots 1 day, HTTP", "one JSON GET each"),
    ("W3_http_json_14days", "B1 slots 14 days, HTTP",
     "Carnet: ONE request for the 14 days; peer: 14 requests, one per day (it has no multi-day endpoint)"),
    ("W2_book_model_path", "B2 booking, service",
     "Carnet checks the slot and queues the confirmation and reminders; peer: no overlap check, no e-mail"),
    ("W2h_book_http_views", "B2 booking, API",
     "Carnet: one JSON POST with a bearer token; peer: its two form POSTs with a session, staff e-mail sent"),
]
CARNET_RACE = "B2 race, 8 processes on one slot"
PEER_RACES = ("views_2_posts", "check_then_book")


def _ratio(peer: float | None, carnet: float | None) -> float | None:
    if not peer or not carnet:
        return None
    return round(peer / carnet, 1)


def _race_outcome(rounds: list[dict]) -> dict:
    """Per trial: how many contenders succeeded, the appointments left on the slot, the late sequential attempt."""
    return {"trials": len(rounds), "succeeded_per_trial": [item["succeeded"] for item in rounds],
            "double_booked_trials": sum(1 for item in rounds if item["appointments_on_slot"] > 1),
            "sequential_attempts_accepted": sum(1 for item in rounds if item["sequential_attempt"] == "accepted")}


def compare(carnet: list[dict], peers: dict[str, dict]) -> dict:
    """`carnet`: the workloads of the JSON line; `peers`: the peer's output per database
    ("sqlite", "postgresql"). Pairs and races present on both sides only."""
    by_name = {(workload["name"], workload["database"]): workload for workload in carnet}
    pairs, races = [], []
    for database, peer in peers.items():
        for peer_key, carnet_name, note in PAIRS:
            ours, theirs = by_name.get((carnet_name, database)), peer["workloads"].get(peer_key)
            if ours is None or theirs is None:
                continue
            pairs.append({
                "database": database, "peer": peer_key, "carnet": carnet_name,
                "carnet_median_ms": ours["median_ms"], "peer_median_ms": theirs["median_ms"],
                "median_ratio": _ratio(theirs["median_ms"], ours["median_ms"]),
                "carnet_p95_ms": ours["p95_ms"], "peer_p95_ms": theirs["p95_ms"],
                "p95_ratio": _ratio(theirs["p95_ms"], ours["p95_ms"]),
                "carnet_queries": ours.get("queries"), "peer_queries": theirs.get("queries"), "note": note})
        ours = by_name.get((CARNET_RACE, database))
        if ours is not None and "double_booking" in peer:
            races.append({"database": database, "processes": ours["processes"],
                          "carnet": _race_outcome(ours["rounds"]),
                          **{f"peer_{variant}": _race_outcome(peer["double_booking"][variant]["rounds"])
                             for variant in PEER_RACES if variant in peer["double_booking"]}})
    return {"pairs": pairs, "races": races}


def peer_section(peers: dict[str, dict], comparison: dict) -> dict:
    """What the JSON line carries under "peer": the peer's own figures per database, and the comparison."""
    versions = next(iter(peers.values()))["versions"] if peers else {}
    return {"name": PEER_NAME, "versions": versions, "figures": peers, **comparison}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _times(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.1f}×"


def comparison_lines(comparison: dict) -> list[str]:
    """The table printed after both databases' figures."""
    header = (f"{'peer key':22} {'Carnet workload':27} {'database':10} {'Carnet med/p95 ms':>18} "
              f"{'peer med/p95 ms':>18} {'ratio med':>9} {'ratio p95':>9}")
    lines = [f"{PEER_NAME} beside Carnet (ratio = peer / Carnet: above 1, Carnet is faster)", header,
             "-" * len(header)]
    for pair in comparison["pairs"]:
        lines.append(
            f"{pair['peer']:22} {pair['carnet']:27} {pair['database']:10} "
            f"{_ms(pair['carnet_median_ms']) + ' / ' + _ms(pair['carnet_p95_ms']):>18} "
            f"{_ms(pair['peer_median_ms']) + ' / ' + _ms(pair['peer_p95_ms']):>18} "
            f"{_times(pair['median_ratio']):>9} {_times(pair['p95_ratio']):>9}")
        queries = f"SQL statements: Carnet {pair['carnet_queries']}, peer {pair['peer_queries']}; "
        lines.append(f"{'':22} {queries}{pair['note']}")
    for race in comparison["races"]:
        lines.append(f"race, {race['processes']} processes on one slot, {race['database']}:")
        for side, outcome in ((side, race[side]) for side in ("carnet", *(f"peer_{v}" for v in PEER_RACES))
                              if side in race):
            lines.append(f"  {side:22} succeeded per trial {outcome['succeeded_per_trial']}, "
                         f"double-booked trials {outcome['double_booked_trials']}/{outcome['trials']}, "
                         f"late sequential attempt accepted {outcome['sequential_attempts_accepted']}"
                         f"/{outcome['trials']}")
    return lines
