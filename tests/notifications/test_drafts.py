"""What the outbox stores: facts, encrypted, rendered by the sender at send time."""

import datetime as dt

import pytest
from flask_babel import lazy_gettext

from tests.notifications.factories import PARIS_MORNING, outbox
from webapp.notifications import drafts
from webapp.notifications.models import Category, NotificationStatus
from webapp.notifications.sender import send_due_notifications
from webapp.notifications.services import enqueue_email, open_email
from webapp.transaction import transaction


def queue(key: str, **overrides):
    values = {"key": key, "to": "paul@example.com", "template": "notebook_entry", "category": Category.NOTEBOOK,
              "context": {"practitioner_name": "Dr Martin", "notebook_url": "http://carnet.test/notebook"}}
    with transaction():
        enqueue_email(**(values | overrides))


@pytest.fixture
def stamp_renderer():
    """A renderer registered as a feature does at app creation: it writes its facts into the file."""
    def render(facts: dict) -> bytes:
        return f"{facts['title']} at {facts['at'].isoformat()}".encode()

    drafts.register_renderer("tests.stamp", render)
    yield
    drafts._renderers.pop("tests.stamp")


def test_datetimes_and_bytes_come_back_as_they_were_stored(app):
    draft = {"at": PARIS_MORNING, "day": PARIS_MORNING.date(), "file": b"\x00\xff", "text": "é", "n": [1, None]}
    opened = drafts.unseal(drafts.seal(draft))
    assert opened["at"] == PARIS_MORNING and opened["at"].tzinfo is not None and opened["day"] == PARIS_MORNING.date()
    assert opened["file"] == b"\x00\xff" and opened["text"] == "é" and opened["n"] == [1, None]


@pytest.mark.parametrize("value", [dt.datetime(2030, 3, 12, 9, 30), lazy_gettext("Billing"), object()])
def test_a_value_that_cannot_be_stored_faithfully_is_refused_at_enqueue(value):
    with pytest.raises(TypeError), transaction():
        queue("refused", context={"practitioner_name": value, "notebook_url": "http://carnet.test/n"})
    assert outbox() == []


def test_a_later_file_is_written_by_its_renderer_at_send_time(smtp, stamp_renderer):
    later = drafts.Later("tests.stamp", {"title": "Rendez-vous", "at": PARIS_MORNING})
    queue("with-file", attachments=[("stamp.txt", "text/plain", later)])

    assert open_email(outbox()[0]).attachments[0].data == b"Rendez-vous at 2030-03-12T08:30:00+00:00"
    assert send_due_notifications().sent == 1
    [attachment] = list(smtp.messages[0].iter_attachments())
    assert attachment.get_content() == "Rendez-vous at 2030-03-12T08:30:00+00:00"


def test_a_message_that_cannot_be_rendered_fails_for_good_and_the_others_leave(smtp):
    queue("unknown-renderer", attachments=[("x.ics", "text/calendar", drafts.Later("tests.nobody", {}))])
    queue("fine")

    report = send_due_notifications()

    assert (report.sent, report.failed, report.retried) == (1, 1, 0)
    rows = {row.key: row for row in outbox()}
    assert rows["unknown-renderer"].status is NotificationStatus.FAILED
    assert "tests.nobody" in rows["unknown-renderer"].last_error
    assert rows["fine"].status is NotificationStatus.SENT
