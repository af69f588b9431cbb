"""Administrators retry or cancel pushes (API and page); nobody else can."""

import re

import pytest
import sqlalchemy as sa

from tests import factories
from tests.audit.factories import log_in
from tests.dmp.factories import bearer, pushable_patient, write
from webapp.accounts.models import Role
from webapp.db import now_utc
from webapp.dmp import outbox
from webapp.dmp import views as dmp_views
from webapp.dmp.models import DocumentPush, PushStatus
from webapp.extensions import db


def _failed_push(recipient) -> tuple[DocumentPush, object, object]:
    recipient.scripted_statuses.append(400)
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    outbox.push_pending_documents(now_utc())
    push = db.session.scalar(sa.select(DocumentPush))
    assert push.status is PushStatus.FAILED
    return push, patient, practitioner


def _reloaded(push) -> DocumentPush:
    db.session.expire_all()
    return db.session.get(DocumentPush, push.id)


def test_an_admin_retries_a_failed_push_which_is_then_sent(dmp, dmp_client, recipient):
    push, _, _ = _failed_push(recipient)
    admin = factories.make_staff(role=Role.ADMIN)
    response = dmp_client.post(f"/api/v1/dmp/pushes/{push.id}/retry", headers=bearer(admin))
    assert response.status_code == 200 and response.json["status"] == "pending" and response.json["attempts"] == 0
    outbox.push_pending_documents(now_utc())
    assert _reloaded(push).status is PushStatus.SENT


def test_an_admin_lists_and_cancels(dmp, dmp_client, recipient):
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    admin = factories.make_staff(role=Role.ADMIN)
    listed = dmp_client.get("/api/v1/dmp/pushes?status=pending", headers=bearer(admin))
    assert listed.status_code == 200 and listed.json["total"] == 1
    push_id = listed.json["items"][0]["id"]
    assert dmp_client.post(f"/api/v1/dmp/pushes/{push_id}/cancel", headers=bearer(admin)).json["status"] == \
        "cancelled"
    outbox.push_pending_documents(now_utc())
    assert recipient.received == []
    again = dmp_client.post(f"/api/v1/dmp/pushes/{push_id}/cancel", headers=bearer(admin))
    assert again.status_code == 409 and again.json["error"]["code"] == "push_not_cancellable"


def test_a_sent_push_cannot_be_retried(dmp, dmp_client, recipient):
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    outbox.push_pending_documents(now_utc())
    push = db.session.scalar(sa.select(DocumentPush))
    response = dmp_client.post(f"/api/v1/dmp/pushes/{push.id}/retry",
                               headers=bearer(factories.make_staff(role=Role.ADMIN)))
    assert response.status_code == 409 and response.json["error"]["code"] == "push_not_retryable"


def test_an_unknown_push_is_404(dmp, dmp_client):
    response = dmp_client.post("/api/v1/dmp/pushes/999999/retry", headers=bearer(factories.make_staff(role=Role.ADMIN)))
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["patient", "practitioner", "staff"])
def test_everyone_but_admins_is_refused(dmp, dmp_client, recipient, who):
    push, patient, practitioner = _failed_push(recipient)
    user = {"patient": patient.account, "practitioner": practitioner.user,
            "staff": factories.make_staff(clinic=factories.make_clinic())}[who]
    headers = bearer(user)
    assert dmp_client.get("/api/v1/dmp/pushes", headers=headers).status_code == 403
    assert dmp_client.post(f"/api/v1/dmp/pushes/{push.id}/retry", headers=headers).status_code == 403
    assert dmp_client.post(f"/api/v1/dmp/pushes/{push.id}/cancel", headers=headers).status_code == 403
    assert _reloaded(push).status is PushStatus.FAILED


def test_the_admin_page_lists_and_retries(dmp, dmp_client, dmp_form_post, recipient):
    push, _, _ = _failed_push(recipient)
    log_in(dmp_form_post, factories.make_staff(role=Role.ADMIN))
    page = dmp_client.get("/admin/shared-record?status=failed")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and push.document_id in html and "HTTP 400" in html
    response = dmp_form_post(f"/admin/shared-record/{push.id}/retry", {}, page="/admin/shared-record")
    assert response.status_code == 302
    assert _reloaded(push).status is PushStatus.PENDING


def test_the_admin_page_is_refused_to_others(dmp, dmp_client, dmp_form_post, recipient):
    push, patient, _ = _failed_push(recipient)
    log_in(dmp_form_post, patient.account)
    assert dmp_client.get("/admin/shared-record").status_code == 403
    assert dmp_form_post(f"/admin/shared-record/{push.id}/cancel", {}, page="/").status_code == 403
    assert _reloaded(push).status is PushStatus.FAILED


def test_the_admin_page_pages_the_pushes_with_its_filter_kept(dmp, dmp_client, dmp_form_post, monkeypatch):
    monkeypatch.setattr(dmp_views, "PER_PAGE", 1)
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    write(practitioner.user, patient)
    newer, older = db.session.scalars(sa.select(DocumentPush).order_by(DocumentPush.id.desc())).all()
    log_in(dmp_form_post, factories.make_staff(role=Role.ADMIN))
    first = dmp_client.get("/admin/shared-record?status=pending").get_data(as_text=True)
    assert newer.document_id in first and older.document_id not in first and "Page 1 sur 2" in first
    links = re.findall(r'<a href="([^"]+)">Page suivante</a>', first)
    assert len(links) == 1 and "status=pending" in links[0] and "page=2" in links[0]
    crafted = dmp_client.get("/admin/shared-record?status=pending&_external=1&_scheme=javascript")
    # url_for's own arguments are not taken from the query
    assert re.findall(r'<a href="([^"]+)">Page suivante</a>', crafted.get_data(as_text=True)) == links
    second = dmp_client.get(links[0].replace("&amp;", "&")).get_data(as_text=True)
    assert older.document_id in second and newer.document_id not in second and "Page précédente" in second
