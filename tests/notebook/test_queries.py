"""What the notebook's reads cost in SQL statements: a constant number, whatever the page holds."""



from tests.notebook.factories import make_attachment, make_entry, make_measurement
from webapp.extensions import db
from webapp.notebook import overview, writing
from webapp.transaction import transaction


def _page_statements(count_queries, user, patient_id) -> tuple[int, dict]:
    db.session.expire_all()
    with count_queries() as statements:
        page = overview.notebook_page(user, patient_id)
        cards = [(entry.author_name, entry.is_superseded, entry.superseded_by and entry.superseded_by.id,
                  [attachment.id for attachment in entry.attachments]) for entry in page.entries["items"]]
    return len(statements), {entry.id: card for entry, card in zip(page.entries["items"], cards, strict=True)}


def test_the_first_page_costs_the_same_for_a_plain_or_a_busy_page(world, count_queries):
    plain, _ = _page_statements(count_queries, world.users["patient"], world.patient.id)
    note = make_entry(world.patient, title="Avant correction")
    with transaction():
        correction = writing.supersede_entry(world.users["patient"], world.patient.id, note.id,
                                             title="Après correction", body="")
    make_attachment(correction)
    make_entry(world.patient, author=world.treating.user, title="Compte rendu")
    for days in range(5):
        make_measurement(world.patient, "weight", 70 + days, "kg", days_ago=days + 1)
    busy, cards = _page_statements(count_queries, world.users["patient"], world.patient.id)
    assert busy == plain
    assert cards[note.id][1:3] == (True, correction.id)
    assert cards[correction.id][1] is False and len(cards[correction.id][3]) == 1
    assert {card[0] for card in cards.values()} == {world.patient.full_name, world.treating.full_name}
