"""`Idempotency-Key`: a retried POST gets the first answer and acts once.

Exercised on `POST /api/v1/me/relatives` (a retry must not add the child twice);
booking's `POST /api/v1/appointments` uses the same decorator.
"""

import datetime as dt
import json
import threading
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa

from tests import factories
from webapp.accounts.models import PatientProxy
from webapp.api.idempotency import purge_expired_idempotency_keys
from webapp.api.models import IdempotencyKey
from webapp.db import now_utc
from webapp.extensions import db

URL = "/api/v1/me/relatives"
CHILD = {"first_name": "Jules", "last_name": "Lambert", "birth_date": "2016-09-03"}


@pytest.fixture
def patient(api_token):
    user = factories.make_patient().account
    return user, api_token(user)


def relatives_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(PatientProxy))


def post(client, headers, key, body=CHILD, **kwargs):
    return client.post(URL, headers=headers | ({"Idempotency-Key": key} if key else {}), json=body, **kwargs)


def test_retry_with_the_same_key_returns_the_first_answer_and_adds_nothing(client, patient):
    _, headers = patient
    first = post(client, headers, "key-1")
    retry = post(client, headers, "key-1")
    assert first.status_code == retry.status_code == 201
    assert retry.json == first.json
    assert retry.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert relatives_count() == 1


def test_same_json_written_differently_is_the_same_request(client, patient):
    _, headers = patient
    post(client, headers, "key-1")
    reordered = '{ "birth_date": "2016-09-03",  "last_name": "Lambert", "first_name": "Jules" }'
    retry = client.post(URL, headers=headers | {"Idempotency-Key": "key-1"}, data=reordered,
                        content_type="application/json")
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert relatives_count() == 1


def test_same_key_with_a_different_body_is_refused(client, patient):
    _, headers = patient
    post(client, headers, "key-1")
    other = post(client, headers, "key-1", CHILD | {"first_name": "Alice"})
    assert other.status_code == 422
    assert other.json["error"]["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in other.json["error"]["fields"]
    assert relatives_count() == 1


def test_without_a_key_every_request_acts(client, patient):
    _, headers = patient
    post(client, headers, None)
    post(client, headers, None)
    assert relatives_count() == 2


def test_keys_belong_to_one_account(client, patient, api_token):
    _, headers = patient
    other_headers = api_token(factories.make_patient().account)
    assert post(client, headers, "shared-key").status_code == 201
    answer = post(client, other_headers, "shared-key")
    assert answer.status_code == 201 and "Idempotent-Replayed" not in answer.headers
    assert relatives_count() == 2


def test_a_request_still_running_blocks_its_duplicate(client, patient):
    user, headers = patient
    post(client, headers, "key-1")
    # What a concurrent first request looks like while its handler runs.
    db.session.execute(sa.update(IdempotencyKey).values(response_status=None, response_body=None))
    db.session.commit()
    duplicate = post(client, headers, "key-1")
    assert duplicate.status_code == 409 and duplicate.json["error"]["code"] == "idempotency_key_in_use"
    assert relatives_count() == 1


def test_concurrent_duplicates_act_once(live_server, patient):
    """Eight copies sent at the same instant over real connections: one child."""
    _, headers = patient
    barrier = threading.Barrier(8)
    answers = []

    def send():
        request = urllib.request.Request(
            live_server + URL, data=json.dumps(CHILD).encode(), method="POST",
            headers=headers | {"Idempotency-Key": "race", "Content-Type": "application/json"},
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answers.append((response.status, json.loads(response.read())))
        except urllib.error.HTTPError as error:
            answers.append((error.code, json.loads(error.read())))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert relatives_count() == 1
    created = [body for status, body in answers if status == 201]
    assert created and all(body == created[0] for body in created)
    assert all(status == 201 or body["error"]["code"] == "idempotency_key_in_use" for status, body in answers)


def test_a_domain_refusal_is_the_first_answer_too(client, patient):
    _, headers = patient
    unknown_practitioner = {"practitioner_id": 999_999, "visit_reason_id": 1, "start": "2030-03-12T09:30:00+01:00"}

    def book():
        return client.post("/api/v1/appointments", headers=headers | {"Idempotency-Key": "key-1"},
                           json=unknown_practitioner)

    first, retry = book(), book()
    assert first.status_code == retry.status_code == 404
    assert retry.json == first.json and retry.headers["Idempotent-Replayed"] == "true"


def test_a_request_refused_before_the_handler_releases_its_key(client, patient):
    _, headers = patient
    invalid = post(client, headers, "key-1", {"first_name": "Jules"})
    assert invalid.status_code == 422 and invalid.json["error"]["code"] == "validation_error"
    corrected = post(client, headers, "key-1")
    assert corrected.status_code == 201 and "Idempotent-Replayed" not in corrected.headers
    assert relatives_count() == 1


def test_an_expired_key_can_be_used_again(client, patient):
    _, headers = patient
    post(client, headers, "key-1")
    db.session.execute(sa.update(IdempotencyKey).values(expires_at=now_utc() - dt.timedelta(seconds=1)))
    db.session.commit()
    again = post(client, headers, "key-1", CHILD | {"first_name": "Alice"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert relatives_count() == 2


def test_keys_live_for_a_day(client, patient):
    _, headers = patient
    post(client, headers, "key-1")
    record = db.session.scalars(sa.select(IdempotencyKey)).one()
    assert dt.timedelta(hours=23, minutes=59) < record.expires_at - record.created_at <= dt.timedelta(hours=24)


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_an_invalid_key_is_a_422(client, patient, key):
    _, headers = patient
    response = client.post(URL, headers=headers | {"Idempotency-Key": key}, json=CHILD)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json["error"]["fields"]
    assert relatives_count() == 0


def test_a_key_is_no_way_around_authentication(client):
    response = client.post(URL, headers={"Idempotency-Key": "key-1"}, json=CHILD)
    assert response.status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 0


def test_the_database_refuses_a_second_record_for_the_same_key(patient):
    user, _ = patient
    expires = now_utc() + dt.timedelta(hours=1)
    db.session.add(IdempotencyKey(user_id=user.id, key="k", request_hash="a" * 64, expires_at=expires))
    db.session.commit()
    db.session.add(IdempotencyKey(user_id=user.id, key="k", request_hash="b" * 64, expires_at=expires))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_purge_deletes_only_expired_keys(patient):
    user, _ = patient
    now = now_utc()
    db.session.add_all([
        IdempotencyKey(user_id=user.id, key="old", request_hash="a" * 64, expires_at=now - dt.timedelta(minutes=1)),
        IdempotencyKey(user_id=user.id, key="new", request_hash="a" * 64, expires_at=now + dt.timedelta(hours=1)),
    ])
    db.session.commit()
    assert purge_expired_idempotency_keys() == 1
    db.session.commit()
    assert db.session.scalars(sa.select(IdempotencyKey.key)).all() == ["new"]
