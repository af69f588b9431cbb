"""The benchmark at its smallest size, so that it never rots: every workload
runs and returns the right answers (nothing here is about speed)."""

import email
import email.policy
import random

import pytest

from bench import mime_encoder
from bench.concurrency import concurrency_workload
from bench.outbox import NOTIFICATIONS, outbox_workload
from bench.race import race_workload
from bench.search import search_workload
from bench.workloads import SIZES, WrongResult, booking_workload, check, notebook_workload, slots_workload

TINY = SIZES["tiny"]


def _assert_measured(results, names):
    assert [result.name for result in results] == names
    for result in results:
        assert result.durations and all(duration > 0 for duration in result.durations)


def test_check_refuses_a_wrong_result():
    with pytest.raises(WrongResult, match="B1: 3 free slots"):
        check(False, "B1: 3 free slots, expected 4")


def test_slots_workload_finds_the_free_slots(app):
    results = slots_workload(app, TINY, random.Random(1))
    _assert_measured(results, ["B1 slots 14 days, service", "B1 slots 1 day, service", "B1 slots 14 days, HTTP",
                               "B1 slots 62 days, HTTP", "B1 slots 1 day, HTTP"])
    assert results[0].extra["appointments"] == TINY.b1_appointments
    assert results[0].extra["free_slots"] > results[1].extra["free_slots"] > 0
    assert results[3].extra["free_slots"] > results[2].extra["free_slots"]
    assert results[4].extra["free_slots"] == results[1].extra["free_slots"]
    assert all(0 < result.extra["queries"] <= 5 for result in results)  # a constant number, whatever the days


def test_booking_workload_books_every_slot_once(app):
    results = booking_workload(app, TINY, random.Random(2))
    _assert_measured(results, ["B2 booking, service", "B2 booking, API"])
    assert all(result.extra["bookings"] == TINY.warmup + TINY.b2_bookings + 1 for result in results)
    assert all(result.extra["queries"] > 0 for result in results)


def test_race_of_eight_processes_books_the_slot_once(app):
    [result] = race_workload(app, TINY, random.Random(5))
    assert result.name == "B2 race, 8 processes on one slot" and result.extra["trials"] == 1
    [trial] = result.extra["rounds"]
    assert (trial["succeeded"], trial["refused"], trial["errors"]) == (1, 7, [])
    assert (trial["appointments_on_slot"], trial["sequential_attempt"]) == (1, "rejected")


def test_notebook_workload_reads_the_whole_notebook(app):
    results = notebook_workload(app, TINY, random.Random(3))
    _assert_measured(results, ["B4 notebook first page + summary, HTTP", "B4 measurement series, HTTP",
                               "B4 FHIR export, HTTP"])
    assert results[1].extra["points"] == TINY.notebook_series
    assert results[2].extra["resources"] > TINY.notebook_entries


@pytest.mark.postgres_only
def test_concurrent_bookings_under_gunicorn_never_double_book(app):
    results = concurrency_workload(app, app.config["SQLALCHEMY_DATABASE_URI"], TINY)
    bookings, ceiling, race = results
    assert len(bookings.durations) == TINY.concurrent_bookings
    assert bookings.throughput > 0 and ceiling.throughput > 0
    assert race.extra == {"rounds": TINY.race_rounds, "all_correct": True}
    assert 0 < bookings.extra["peak_worker_rss_mb"] < 1024
    # Where each booking's CPU went (the kernel counts processes' time in ticks: the workers' is sure to show).
    assert set(bookings.extra["cpu_ms_per_request"]) == {"gunicorn", "postgresql", "clients"}
    assert bookings.extra["cpu_ms_per_request"]["gunicorn"] > 0
    # The proportional and unique sets leave out (part of) the pages shared with the master and the other workers.
    memory = bookings.extra
    assert 0 < memory["worker_uss_mb"] <= memory["worker_pss_mb"] <= memory["peak_worker_rss_mb"]


def test_search_workload_finds_the_right_practitioners_and_availabilities(app):
    results = search_workload(app, TINY, random.Random(4))
    names = ["B3 search specialty + city, HTTP", "B3 specialty, all cities, soonest first, HTTP"]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        names.append("B3 soonest first, gunicorn")
        memory = results[2].extra
        assert 0 < memory["worker_uss_mb"] <= memory["worker_pss_mb"] <= memory["peak_worker_rss_mb"] < 1024
    _assert_measured(results, names)
    assert results[0].extra["appointments"] == TINY.b3_appointments
    assert results[0].extra["mean_items"] > 0


def test_outbox_workload_sends_every_notification_exactly_once(app, is_postgres):
    [result] = outbox_workload(app, TINY, random.Random(4))
    senders = 2 if is_postgres else 1
    assert result.name == f"B5 outbox to SMTP, {senders} sender process(es)"
    assert result.extra["notifications"] == NOTIFICATIONS["tiny"] and result.throughput > 0
    assert len(result.extra["sent_per_sender"]) == senders and sum(result.extra["sent_per_sender"]) == 200


def test_the_mime_benchmark_compares_two_writings_of_the_same_message(capsys):
    parsed = [email.message_from_bytes(write(), policy=email.policy.default)
              for write in mime_encoder.encoders().values()]
    for header in ("From", "To", "Subject", "Date", "Message-ID", "Content-Language"):
        assert parsed[0][header] == parsed[1][header]
    for kind in ("plain", "html"):  # the same text, whatever the encoders did to line ends
        bodies = [message.get_body((kind,)).get_content().replace("\r\n", "\n").rstrip("\n") for message in parsed]
        assert bodies[0] == bodies[1]
    assert mime_encoder.main(runs=10) == 0
    assert "µs CPU per message" in capsys.readouterr().out
