"""The agenda's time grid: blocks sized by duration, free cells that book at the desk, absences and public
holidays, a clinic's agendas side by side, who may see which agenda, and where practitioners land after login."""

import datetime as dt
import re
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import PARIS, make_appointment, make_schedule, make_visit_reason, make_weekly_hours
from webapp.accounts.models import ClinicRole
from webapp.booking.agenda_grid import CellKind, ColumnSource, build_grid
from webapp.booking.models import Absence, Appointment, AppointmentStatus
from webapp.extensions import db

# Fixed dates in the past: the app's clock is frozen there (sessions compare the wall clock with
# the password's change time, so a frozen clock ahead of the wall clock would end them).
MONDAY = dt.date(2025, 12, 1)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), PARIS)


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


@pytest.fixture
def monday_morning(frozen_clock):
    """Monday 1 December 2025, 08:00 in Paris."""
    return frozen_clock.set(at(MONDAY, 8).astimezone(dt.UTC))


def practice(**overrides):
    """Open Monday to Friday 09:00-12:00 and 14:00-18:00, closed on public holidays, one 30-minute reason."""
    practitioner = factories.make_practitioner(**overrides)
    make_schedule(practitioner, closed_on_public_holidays=True)
    make_weekly_hours(practitioner)
    return practitioner, make_visit_reason(practitioner)


def cell_link(practitioner, start: dt.datetime) -> str:
    return f"/agenda/cell?practitioner={practitioner.id}&amp;start={quote(start.isoformat(), safe=':')}"


def block_of(page: str, name: str) -> str:
    """The grid cell holding `name`'s appointment."""
    match = re.search(r'<td rowspan="(\d+)" class="cell-block[^"]*">((?:(?!</td>).)*' + re.escape(name)
                      + r"(?:(?!</td>).)*)</td>", page, re.S)
    assert match, f"no block for {name}"
    return match[0]


# --- The grid, built from plain data -----------------------------------------------------------

def source(**values) -> ColumnSource:
    return ColumnSource(**({"practitioner": None, "day": MONDAY, "timezone": PARIS,
                            "opening": [(dt.time(9), dt.time(12))]} | values))


def test_rows_cover_the_hours_and_appointments_span_the_rows_of_their_duration():
    long = Appointment(id=1, start_at=at(MONDAY, 9, 30), end_at=at(MONDAY, 10, 15), status=AppointmentStatus.BOOKED)
    [column] = build_grid([source(appointments=[long])]).columns
    assert [cell.minute // 60 for cell in column.cells if cell][:1] == [9]
    assert len(column.cells) == 12  # 09:00 to 12:00 in quarters
    block = column.cells[2]
    assert block.kind is CellKind.BLOCK and block.rowspan == 3 and column.cells[3] is None and column.cells[4] is None


def test_overlapping_or_unaligned_appointments_share_one_cell():
    first = Appointment(id=1, start_at=at(MONDAY, 9), end_at=at(MONDAY, 9, 20), status=AppointmentStatus.CANCELLED)
    second = Appointment(id=2, start_at=at(MONDAY, 9, 10), end_at=at(MONDAY, 9, 40), status=AppointmentStatus.BOOKED)
    [column] = build_grid([source(appointments=[second, first])]).columns
    assert column.cells[0].appointments == [first, second] and column.cells[0].rowspan == 3


def test_free_starts_absences_holidays_and_closed_time():
    free = [at(MONDAY, 9).astimezone(dt.UTC), at(MONDAY, 11, 30).astimezone(dt.UTC)]
    absence = [(at(MONDAY, 11), at(MONDAY, 12), "Formation")]
    grid = build_grid([source(free_starts=free, absences=absence, opening=[(dt.time(9), dt.time(10))]),
                       source(day=MONDAY + dt.timedelta(days=1), holiday="Noël", closed_for_holiday=True)])
    monday, holiday = grid.columns
    kinds = [cell.kind for cell in monday.cells]
    assert kinds[:4] == [CellKind.FREE, CellKind.OPEN, CellKind.OPEN, CellKind.OPEN]
    assert monday.cells[0].free_start == at(MONDAY, 9)
    assert kinds[4:8] == [CellKind.CLOSED] * 4  # 10:00-11:00, outside the hours
    assert kinds[8:] == [CellKind.ABSENCE] * 4 and monday.cells[8].starts_run and not monday.cells[9].starts_run
    assert {cell.kind for cell in holiday.cells} == {CellKind.CLOSED}


# --- The page ----------------------------------------------------------------------------------

def test_day_grid_shows_blocks_free_cells_and_closed_hours(client, log_in, monday_morning):
    practitioner, reason = practice()
    make_appointment(practitioner, factories.make_patient(last_name="Lambert"), at(MONDAY, 10), reason=reason)
    make_appointment(practitioner, factories.make_patient(last_name="Girard"), at(MONDAY, 15), reason=reason,
                     status=AppointmentStatus.CANCELLED)
    log_in(practitioner.user)
    page = html(client.get("/agenda"))
    assert "aujourd&#39;hui" in page or "aujourd'hui" in page
    assert '<th scope="row" class="time">09:00</th>' in page and '<th scope="col"' in page
    lambert = block_of(page, "Lambert")
    assert 'rowspan="2"' in lambert and "Consultation" in lambert and "Réservé" in lambert
    assert "Annulé" in block_of(page, "Girard")
    assert cell_link(practitioner, at(MONDAY, 9)) in page and cell_link(practitioner, at(MONDAY, 11, 30)) in page
    assert cell_link(practitioner, at(MONDAY, 10)) not in page  # taken
    assert cell_link(practitioner, at(MONDAY, 12, 30)) not in page  # the lunch break
    assert page.count('class="cell-closed"') >= 8


def test_week_grid_shows_absences_and_public_holidays(client, log_in, frozen_clock):
    frozen_clock.set(at(dt.date(2025, 12, 22), 8).astimezone(dt.UTC))
    practitioner, reason = practice()
    db.session.add(Absence(practitioner_id=practitioner.id, start_at=at(dt.date(2025, 12, 23), 14),
                           end_at=at(dt.date(2025, 12, 23), 18), reason="Formation"))
    db.session.commit()
    log_in(practitioner.user)
    page = html(client.get("/agenda?view=week&day=2025-12-24"))
    assert "Semaine du 22 décembre 2025" in page
    assert "Jour férié : Noël" in page and "Absence · Formation" in page
    assert page.count('class="column-note absence"') == 1  # the Tuesday's header only
    assert cell_link(practitioner, at(dt.date(2025, 12, 23), 9)) in page
    assert cell_link(practitioner, at(dt.date(2025, 12, 23), 14)) not in page
    assert cell_link(practitioner, at(dt.date(2025, 12, 25), 9)) not in page
    assert f"/agenda?practitioner={practitioner.id}&amp;view=week&amp;day=2025-12-15" in page  # previous week


def test_secretary_sees_the_agendas_of_her_clinic_side_by_side(client, log_in, monday_morning):
    clinic = factories.make_clinic()
    martin, martin_reason = practice(clinic=clinic, last_name="Martin")
    petit, petit_reason = practice(clinic=clinic, last_name="Petit")
    outsider, outsider_reason = practice(last_name="Ailleurs")
    make_appointment(martin, factories.make_patient(last_name="Benali"), at(MONDAY, 9), reason=martin_reason)
    make_appointment(petit, factories.make_patient(last_name="Roux"), at(MONDAY, 9), reason=petit_reason)
    make_appointment(outsider, factories.make_patient(last_name="Secret"), at(MONDAY, 9), reason=outsider_reason)
    log_in(factories.make_staff(clinic=clinic))
    page = html(client.get("/agenda"))
    heads = re.findall(r'<th scope="col" class="[^"]*">\s*([^<]+?)\s*<', page)
    assert heads[1:] == [martin.full_name, petit.full_name]
    assert "Benali" in page and "Roux" in page and "Secret" not in page
    only_petit = html(client.get(f"/agenda?practitioner={petit.id}"))
    assert "Roux" in only_petit and "Benali" not in only_petit
    foreign = html(client.get(f"/agenda?practitioner={outsider.id}"))
    assert "Secret" not in foreign and "Benali" in foreign
    foreign_cell = f"/agenda/cell?practitioner={outsider.id}&start={quote(at(MONDAY, 10).isoformat())}"
    assert client.get(foreign_cell).status_code == 403


@pytest.mark.parametrize("who", ["patient", "accountant", "staff without clinic"])
def test_the_grid_is_refused_to_anyone_without_a_desk(client, log_in, who, monday_morning):
    practitioner, _ = practice()
    user = {"patient": lambda: factories.make_patient().account,
            "accountant": lambda: factories.make_staff(clinic=factories.make_clinic(),
                                                       clinic_role=ClinicRole.ACCOUNTANT),
            "staff without clinic": lambda: factories.make_staff()}[who]()
    log_in(user)
    assert client.get("/agenda").status_code == 403
    assert client.get(f"/agenda/cell?practitioner={practitioner.id}&start={quote(at(MONDAY, 10).isoformat())}"
                      ).status_code == 403


def test_a_free_cell_books_at_the_desk_in_three_actions(client, log_in, form_post, monday_morning):
    practitioner, reason = practice()
    known = factories.make_patient(first_name="Léa", last_name="Moreau")
    make_appointment(practitioner, known, at(MONDAY - dt.timedelta(days=7), 9), reason=reason)  # seen before
    log_in(practitioner.user)
    grid = html(client.get("/agenda"))
    link = re.search(r'href="(/agenda/cell\?[^"]+)"', grid)[1].replace("&amp;", "&")  # 1. the first free cell
    cell = html(client.get(link))
    assert "Réserver le lundi 1 décembre 2025, 09:00" in cell and "Consultation" in cell
    found = html(client.get(link + "&q=Moreau"))  # 2. search the patient
    assert "Réserver pour Léa Moreau" in found
    response = form_post("/agenda/cell", {"practitioner": practitioner.id, "start": at(MONDAY, 9).isoformat(),
                                          "patient_id": known.id, "visit_reason_id": reason.id},
                         page=link + "&q=Moreau")  # 3. book
    assert response.status_code == 302 and response.headers["Location"] == "/agenda?day=2025-12-01"
    booked = db.session.scalar(sa.select(Appointment).where(Appointment.start_at == at(MONDAY, 9)))
    assert booked.patient_id == known.id and booked.booked_at_desk
    after = html(client.get("/agenda?day=2025-12-01"))
    assert "Le rendez-vous de Léa Moreau est réservé." in after and "Moreau" in block_of(after, "Moreau")


def test_a_taken_cell_says_so_and_books_nothing(client, log_in, form_post, monday_morning):
    practitioner, reason = practice()
    known = factories.make_patient(last_name="Moreau")
    make_appointment(practitioner, known, at(MONDAY - dt.timedelta(days=7), 9), reason=reason)
    log_in(practitioner.user)
    link = f"/agenda/cell?practitioner={practitioner.id}&start={quote(at(MONDAY, 9).isoformat())}"
    page = html(client.get(link))
    make_appointment(practitioner, factories.make_patient(), at(MONDAY, 9), reason=reason)
    response = form_post("/agenda/cell", {"practitioner": practitioner.id, "start": at(MONDAY, 9).isoformat(),
                                          "patient_id": known.id, "visit_reason_id": reason.id}, page=link)
    assert response.status_code == 302 and "Consultation" in page
    assert "plus disponible" in html(client.get(response.headers["Location"]))
    assert "ne peut plus commencer" in html(client.get(link))


def test_the_block_marks_arrived_and_no_show_and_comes_back_to_the_grid(client, log_in, form_post, frozen_clock):
    frozen_clock.set(at(MONDAY, 10, 40).astimezone(dt.UTC))
    clinic = factories.make_clinic()
    practitioner, reason = practice(clinic=clinic)
    on_time = make_appointment(practitioner, factories.make_patient(last_name="Arrivant"), at(MONDAY, 10, 30),
                               reason=reason)
    missed = make_appointment(practitioner, factories.make_patient(last_name="Absent"), at(MONDAY, 10), reason=reason)
    later = make_appointment(practitioner, factories.make_patient(last_name="Tardif"), at(MONDAY, 16), reason=reason)
    log_in(factories.make_staff(clinic=clinic))
    grid = "/agenda?day=2025-12-01"
    page = html(client.get(grid))
    assert f"/agenda/appointments/{on_time.id}/arrived" in block_of(page, "Arrivant")
    assert f"/agenda/appointments/{missed.id}/no-show" in block_of(page, "Absent")
    assert "/arrived" not in block_of(page, "Tardif") and "/no-show" not in block_of(page, "Tardif")
    response = form_post(f"/agenda/appointments/{on_time.id}/arrived", {"return_to": grid}, page=grid)
    assert response.status_code == 302 and response.headers["Location"] == grid
    response = form_post(f"/agenda/appointments/{missed.id}/no-show", {"return_to": grid}, page=grid)
    assert response.headers["Location"] == grid
    page = html(client.get(grid))
    assert "Arrivé à 10:40" in block_of(page, "Arrivant") and "Non honoré" in block_of(page, "Absent")
    assert later.id


def test_a_visit_under_way_offers_every_kind_of_notebook_entry(client, log_in, frozen_clock):
    frozen_clock.set(at(MONDAY, 9, 10).astimezone(dt.UTC))
    practitioner, reason = practice()
    patient = factories.make_patient(last_name="Carnet")
    visit = make_appointment(practitioner, patient, at(MONDAY, 9), reason=reason)
    log_in(practitioner.user)
    block = block_of(html(client.get("/agenda")), "Carnet")
    report = f"/patients/{patient.id}/notebook/new?appointment_id={visit.id}&amp;kind=report"
    assert "Écrire dans le carnet" in block and report in block and "kind=prescription" in block
    detail = html(client.get(f"/agenda/appointments/{visit.id}"))
    assert f'href="{report}">Compte rendu</a>' in detail and "kind=measurement" in detail
    form = html(client.get(report.replace("&amp;", "&")))
    assert "Nouvelle entrée : Compte rendu" in form and "rattachée à la consultation" in form


def test_a_new_patient_created_from_a_free_cell_comes_back_to_book_it(client, log_in, form_post, monday_morning):
    practitioner, reason = practice()
    log_in(practitioner.user)
    start = quote(at(MONDAY, 9).isoformat())
    cell = html(client.get(f"/agenda/cell?practitioner={practitioner.id}&start={start}"))
    new = re.search(r'href="(/agenda/patients/new\?[^"]+)"', cell)[1].replace("&amp;", "&")
    response = form_post(new, {"first_name": "Jade", "last_name": "Nouvelle", "birth_date": "1990-04-02",
                                     "phone": "0612345678"})
    assert response.status_code == 302, re.findall(r'class="(?:field-error|flash[^"]*)"[^>]*>([^<]*)<', html(response))
    assert response.headers["Location"].startswith("/agenda/cell?")
    assert "Réserver pour Jade Nouvelle" in html(client.get(response.headers["Location"]))


@pytest.mark.parametrize("who, landing", [("practitioner", "/agenda"), ("secretary", "/agenda"), ("patient", "/"),
                                          ("accountant", "/")])
def test_login_lands_a_desk_on_todays_grid_and_patients_at_home(log_in, form_post, who, landing):
    clinic = factories.make_clinic()
    user = {"practitioner": lambda: factories.make_practitioner().user,
            "secretary": lambda: factories.make_staff(clinic=clinic),
            "patient": lambda: factories.make_patient().account,
            "accountant": lambda: factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT)}[who]()
    response = form_post("/login", {"email": user.email, "password": factories.PASSWORD})
    if user.role.requires_totp:
        response = form_post("/login/code", {"code": factories.totp_now(user)})
    assert response.status_code == 302 and response.headers["Location"] == landing


def test_the_grid_costs_the_same_for_one_or_three_agendas(client, log_in, count_queries, monday_morning):
    clinic = factories.make_clinic()
    practitioners = [practice(clinic=clinic) for _ in range(3)]
    for practitioner, reason in practitioners:
        for hour in (9, 10, 11, 14):
            make_appointment(practitioner, factories.make_patient(), at(MONDAY, hour), reason=reason)
    log_in(factories.make_staff(clinic=clinic))
    html(client.get("/agenda"))  # the first page after login also records the session's activity
    first = f"/agenda?practitioner={practitioners[0][0].id}"
    with count_queries() as one:
        html(client.get(first))
    with count_queries() as three:
        html(client.get("/agenda"))
    assert len(one) == len(three)
