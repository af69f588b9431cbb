"""The peer's side of `bench/run --peer`: django-appointment 3.12.0 run as
/work/shared/peers/django-appointment.md describes, by the peer virtualenv's
python (never the project's). Writes its figures as one JSON file.

Every timed step goes through the package's own functions and views; none of
its logic is rewritten. Usage (bench/peer/runner.py builds this command):

    python appointment_peer.py --workdir DIR --output FILE [--postgres-url URL]
        [--seed 42] [--patients 200] [--appointments 5000] [--runs 200]
        [--bookings 500] [--race-trials 5] [--race-processes 8]
"""

import argparse
import datetime as dt
import json
import logging
import math
import multiprocessing
import os
import platform
import random
import statistics
import sys
import time
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

import django
from django.conf import settings

PEER_DATABASE = "carnet_bench_peer"
MORNING = (dt.time(9), dt.time(12))
AFTERNOON = (dt.time(14), dt.time(18))
SLOT = dt.timedelta(minutes=15)
SLOTS_PER_DAY = 28  # 09:00-12:00 and 14:00-18:00 in 15-minute slots
W1_W3_WARMUP = 10
ROUNDS = 5
BOOKING_WARMUP = 10
PHONE = {"phone_0": "FR", "phone_1": "612345678"}


# --- the minimal Django project --------------------------------------------------------

def _database_settings(postgres_url: str | None, workdir: Path) -> dict:
    if not postgres_url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(workdir / "peer.sqlite3"),
                "OPTIONS": {"timeout": 60}}
    url = urlsplit(postgres_url)
    return {"ENGINE": "django.db.backends.postgresql", "NAME": PEER_DATABASE, "USER": url.username or "",
            "PASSWORD": url.password or "", "HOST": url.hostname or "", "PORT": str(url.port or "")}


def _create_postgres_database(postgres_url: str) -> None:
    """A fresh database for the peer on the bench's throwaway server."""
    import psycopg  # only in the peer venv, only for PostgreSQL

    url = urlsplit(postgres_url)
    with psycopg.connect(host=url.hostname, port=url.port, user=url.username, password=url.password,
                         dbname=url.path.lstrip("/") or "postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{PEER_DATABASE}"')
        connection.execute(f'CREATE DATABASE "{PEER_DATABASE}"')


def configure(workdir: Path, postgres_url: str | None) -> None:
    """Settings as the protocol writes them; the package's migrations are generated
    into the harness's own folder (`MIGRATION_MODULES`), never into site-packages."""
    (workdir / "peer_migrations").mkdir(parents=True, exist_ok=True)
    (workdir / "peer_migrations" / "__init__.py").touch()
    (workdir / "peer_urls.py").write_text(
        "from django.urls import include, path\n\n"
        "urlpatterns = [path('appointment/', include('appointment.urls'))]\n")
    sys.path.insert(0, str(workdir))
    settings.configure(
        DEBUG=False, SECRET_KEY="bench-peer-throwaway-key", ALLOWED_HOSTS=["testserver", "localhost"],  # nosec B106
        TIME_ZONE="Europe/Paris", USE_TZ=True, USE_I18N=True, LANGUAGE_CODE="en",
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                        "django.contrib.messages", "django.contrib.staticfiles", "phonenumber_field", "appointment"],
        MIDDLEWARE=["django.middleware.security.SecurityMiddleware",
                    "django.contrib.sessions.middleware.SessionMiddleware",
                    "django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware",
                    "django.contrib.auth.middleware.AuthenticationMiddleware",
                    "django.contrib.messages.middleware.MessageMiddleware"],
        ROOT_URLCONF="peer_urls",
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
                    "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                                       "django.contrib.auth.context_processors.auth",
                                                       "django.contrib.messages.context_processors.messages"]}}],
        DATABASES={"default": _database_settings(postgres_url, workdir)},
        MIGRATION_MODULES={"appointment": "peer_migrations"},
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DEFAULT_FROM_EMAIL="bench@peer.example", STATIC_URL="/static/",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
    )
    django.setup()


def mute_package_loggers() -> None:
    """The package's loggers are hard-wired to DEBUG on stdout: keep their cost, send them to /dev/null.
    Its modules create them on import, so they are imported first."""
    import appointment.services  # noqa: F401
    import appointment.utils.email_ops  # noqa: F401
    import appointment.views  # noqa: F401

    sink = open(os.devnull, "w")  # noqa: SIM115  # lives as long as the process
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("appointment") and isinstance(logger, logging.Logger):
            for handler in logger.handlers:
                if isinstance(handler, logging.StreamHandler):
                    handler.setStream(sink)


def migrate(workdir: Path) -> None:
    from django.core.management import call_command

    call_command("makemigrations", "appointment", verbosity=0)
    if not any((workdir / "peer_migrations").glob("0*.py")):
        raise SystemExit("makemigrations wrote no migration for appointment")
    call_command("migrate", verbosity=0)


# --- figures ---------------------------------------------------------------------------

def summary(durations_ns: list[int], queries: int | None = None, **extra) -> dict:
    """Median, p95 (nearest rank), mean, min, max in ms, n, and SQL statements per operation."""
    ordered = sorted(durations_ns)
    as_ms = [value / 1e6 for value in ordered]
    rank = max(1, math.ceil(0.95 * len(as_ms)))
    return {"median_ms": round(statistics.median(as_ms), 3), "p95_ms": round(as_ms[rank - 1], 3),
            "mean_ms": round(statistics.fmean(as_ms), 3), "min_ms": round(as_ms[0], 3),
            "max_ms": round(as_ms[-1], 3), "n": len(as_ms), "queries": queries, **extra}


def count_queries(operation) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        operation()
    return len(captured.captured_queries)


def timed_ns(operation) -> int:
    started = time.perf_counter_ns()
    operation()
    return time.perf_counter_ns() - started


def interleaved(operations: dict, runs: int) -> dict[str, list[int]]:
    """10 warm-up calls each, then `runs` measured calls each in 5 interleaved rounds."""
    for operation in operations.values():
        for _ in range(W1_W3_WARMUP):
            operation()
    durations = {name: [] for name in operations}
    per_round = max(1, runs // ROUNDS)
    for _ in range(ROUNDS):
        for name, operation in operations.items():
            durations[name] += [timed_ns(operation) for _ in range(per_round)]
    return durations


# --- the seeded world ------------------------------------------------------------------

def day_slots(day: dt.date) -> list[dt.time]:
    """The 28 starts of a working day (the schedule the protocol mirrors)."""
    starts = []
    for first, last in (MORNING, AFTERNOON):
        moment = dt.datetime.combine(day, first)
        while moment.time() < last:
            starts.append(moment.time())
            moment += SLOT
    return starts


def working_days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)
            if (first + dt.timedelta(days=n)).weekday() < 5]


class World:
    """1 staff member, 1 service, a Config, the patients, the schedule and the history."""

    def __init__(self, args):
        from appointment import services
        from appointment.models import Config, Service, StaffMember
        from django.contrib.auth.hashers import make_password
        from django.contrib.auth.models import User
        from django.utils import timezone

        self.rng = random.Random(args.seed)  # nosec B311  # reproducible data set, nothing secret
        self.today = timezone.localdate()
        Config.objects.create(slot_duration=15, lead_time=dt.time(9), finish_time=dt.time(18),
                              appointment_buffer_time=0)
        self.service = Service.objects.create(name="Consultation", duration=dt.timedelta(minutes=15),
                                              price=Decimal("25"), currency="EUR")
        staff_user = User.objects.create_user(username="staff", email="staff@peer.example", first_name="Alex",
                                              last_name="Martin")
        self.staff = StaffMember.objects.create(user=staff_user, slot_duration=15, appointment_buffer_time=0)
        self.staff.services_offered.add(self.service)
        password = make_password("bench-peer-password")
        User.objects.bulk_create([User(username=f"patient{n}", email=f"patient{n}@peer.example", first_name="Camille",
                                       last_name=f"Peer{n}", password=password) for n in range(args.patients)])
        self.patients = list(User.objects.filter(username__startswith="patient").order_by("id"))

        # One 09:00-18:00 range per weekday (0 = Sunday: Monday is 1), and the lunch break as one
        # Unavailability per working date: the package cannot express a split day.
        for weekday in range(1, 6):
            answer = services.handle_working_hours_form(self.staff, weekday, dt.time(9), dt.time(18), add=True)
            assert answer.status_code == 200, answer.content  # nosec B101  # the harness's own sanity check
        # The booking horizon: W2 and W2h book distinct slots after day 14, then the races.
        needed_days = math.ceil((2 * (args.bookings + BOOKING_WARMUP) + 2 * args.race_trials + 2) / SLOTS_PER_DAY)
        self.after_day_14 = working_days(self.today + dt.timedelta(days=15),
                                         self.today + dt.timedelta(days=15 + 7 * (needed_days // 5 + 2)))
        last_day = max(self.today + dt.timedelta(days=91), self.after_day_14[-1])
        self.unavailabilities = 0
        for day in working_days(self.today - dt.timedelta(days=365), last_day):
            answer = services.handle_unavailability_form(self.staff, day, MORNING[1],
                                                         AFTERNOON[0], "Pause déjeuner", add=True)
            assert answer.status_code == 200, answer.content  # nosec B101
            self.unavailabilities += 1

        self.next_14 = [self.today + dt.timedelta(days=n) for n in range(1, 15)]
        upcoming = [(day, start) for day in working_days(self.next_14[0], self.next_14[-1]) for start in day_slots(day)]
        taken_upcoming = self.rng.sample(upcoming, len(upcoming) // 2)
        past = [(day, start) for day in working_days(self.today - dt.timedelta(days=365),
                                                     self.today - dt.timedelta(days=1)) for start in day_slots(day)]
        taken_past = self.rng.sample(past, min(len(past), max(0, args.appointments - len(taken_upcoming))))
        self._insert_history(taken_past + taken_upcoming)
        self.history = len(taken_past) + len(taken_upcoming)
        self.upcoming_taken = len(taken_upcoming)
        self.free_next_14 = len(upcoming) - len(taken_upcoming)
        self.first_working_day = working_days(self.next_14[0], self.next_14[-1])[0]
        self.free_first_day = SLOTS_PER_DAY - sum(1 for day, _ in taken_upcoming if day == self.first_working_day)
        self.free_slots = iter((day, start) for day in self.after_day_14 for start in day_slots(day))

    def _insert_history(self, taken: list[tuple[dt.date, dt.time]]) -> None:
        """`AppointmentRequest.save()` refuses past dates: bulk_create with the field values the package writes."""
        from appointment.models import Appointment, AppointmentRequest
        from appointment.utils.date_time import get_timestamp
        from appointment.utils.view_helpers import generate_random_id

        requests = AppointmentRequest.objects.bulk_create([
            AppointmentRequest(date=day, start_time=start, end_time=(dt.datetime.combine(day, start) + SLOT).time(),
                               service=self.service, staff_member=self.staff, payment_type="full",
                               id_request=f"{get_timestamp()}{self.service.id}{generate_random_id()}")
            for day, start in sorted(taken)], batch_size=1000)
        Appointment.objects.bulk_create([
            Appointment(client=self.rng.choice(self.patients), appointment_request=request, phone="+33612345678",
                        address="", want_reminder=False, amount_to_pay=self.service.price,
                        id_request=f"{get_timestamp()}{request.id}{generate_random_id()}")
            for request in requests], batch_size=1000)

    def next_free_slot(self) -> tuple[dt.date, dt.time]:
        return next(self.free_slots)

    def request_fields(self, day: dt.date, start: dt.time) -> dict:
        return {"date": day.isoformat(), "start_time": start.strftime("%H:%M:%S"),
                "end_time": (dt.datetime.combine(day, start) + SLOT).time().strftime("%H:%M:%S"),
                "service": self.service.id, "staff_member": self.staff.id}

    def appointments_at(self, day: dt.date, start: dt.time) -> int:
        from appointment.models import Appointment

        return Appointment.objects.filter(appointment_request__date=day, appointment_request__start_time=start,
                                          appointment_request__staff_member=self.staff).count()


# --- the package's operations ----------------------------------------------------------

def slots_of(world: World, day: dt.date) -> list:
    from appointment.services import get_available_slots_for_staff
    from appointment.utils.db_helpers import get_weekday_num_from_date

    return get_available_slots_for_staff(day, world.staff, get_weekday_num_from_date(day), service=world.service)


def book_model_path(world: World, patient, day: dt.date, start: dt.time):
    """The views' order, called directly: AppointmentRequestForm, AppointmentForm + ClientDataForm,
    ar.save(), update_user_name, create_and_save_appointment. No e-mail."""
    from appointment.forms import AppointmentForm, AppointmentRequestForm, ClientDataForm
    from appointment.utils.db_helpers import create_and_save_appointment, update_user_name
    from django.test import RequestFactory

    request_form = AppointmentRequestForm(world.request_fields(day, start))
    if not request_form.is_valid():
        raise RuntimeError(f"AppointmentRequestForm: {request_form.errors.as_json()}")
    ar = request_form.save()
    appointment_form = AppointmentForm({**PHONE, "address": "1 rue de la Paix", "additional_info": ""})
    client_form = ClientDataForm({"name": patient.get_full_name()}, user=patient)
    if not (appointment_form.is_valid() and client_form.is_valid()):
        raise RuntimeError(f"booking forms: {appointment_form.errors.as_json()} {client_form.errors.as_json()}")
    ar.payment_type = "full"
    ar.save()
    request = RequestFactory().post("/appointment/client-info/")
    request.user = patient
    update_user_name(patient, client_form.cleaned_data["name"])
    return create_and_save_appointment(ar, client_form.cleaned_data, appointment_form.cleaned_data, request)


def logged_in_client(patient):
    from django.test import Client

    client = Client()
    client.force_login(patient)
    return client


def book_through_views(world: World, client, patient, day: dt.date, start: dt.time) -> bool:
    """The two POSTs of the package's own flow; True when the second one lands on the thank-you page."""
    first = client.post("/appointment/request-submit/", world.request_fields(day, start))
    if first.status_code != 302:
        return False
    second = client.post(first["Location"], {**PHONE, "address": "1 rue de la Paix", "additional_info": "",
                                              "name": patient.get_full_name(), "payment_type": "full"})
    return second.status_code == 302 and "thank-you" in second["Location"]


def check_then_book(world: World, patient, day: dt.date, start: dt.time) -> bool:
    """What a careful integrator would add: book through the W2 path only if the slot is still listed."""
    if start not in {slot.time() for slot in slots_of(world, day)}:
        return False
    book_model_path(world, patient, day, start)
    return True


# --- workloads -------------------------------------------------------------------------

def read_workloads(world: World, runs: int) -> dict:
    """W1 and W3: read-only, interleaved."""
    from django.test import Client

    client = Client()
    day = world.first_working_day

    def slots_json(selected: dt.date):
        response = client.get("/appointment/ajax/available_slots/",
                              {"selected_date": selected.isoformat(), "staff_member": world.staff.id,
                               "service_id": world.service.id}, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
        return response

    one_day = slots_of(world, day)
    fourteen = sum(len(slots_of(world, each)) for each in world.next_14)
    answer = slots_json(day)
    json_slots = len(json.loads(answer.content).get("available_slots", []))
    if (len(one_day), fourteen, json_slots) != (world.free_first_day, world.free_next_14, world.free_first_day):
        raise SystemExit(f"wrong slots: 1 day {len(one_day)} (JSON {json_slots}), expected {world.free_first_day}; "
                         f"14 days {fourteen}, expected {world.free_next_14}")
    operations = {
        "W1_slots_1day": lambda: slots_of(world, day),
        "W1_slots_14days": lambda: [slots_of(world, each) for each in world.next_14],
        "W3_http_json_1day": lambda: slots_json(day),
        "W3_http_json_14days": lambda: [slots_json(each) for each in world.next_14],
    }
    durations = interleaved(operations, runs)
    notes = {"W1_slots_1day": {"free_slots": len(one_day), "date": day.isoformat()},
             "W1_slots_14days": {"free_slots": fourteen, "calls": 14},
             "W3_http_json_1day": {"free_slots": json_slots},
             "W3_http_json_14days": {"requests": 14}}
    return {name: summary(durations[name], count_queries(operation), **notes[name])
            for name, operation in operations.items()}


def booking_workloads(world: World, bookings: int) -> dict:
    """W2 then W2h: sequential bookings, each in a distinct free slot after day 14."""
    from django.core import mail

    figures = {}
    counter = iter(range(10**9))

    def model_path():
        day, start = world.next_free_slot()
        book_model_path(world, world.patients[next(counter) % len(world.patients)], day, start)

    durations = [timed_ns(model_path) for _ in range(BOOKING_WARMUP + bookings)][BOOKING_WARMUP:]
    figures["W2_book_model_path"] = summary(durations, count_queries(model_path), bookings=bookings)

    clients = [logged_in_client(patient) for patient in world.patients]  # logging in is not timed

    def views_path():
        index = next(counter) % len(world.patients)
        day, start = world.next_free_slot()
        if not book_through_views(world, clients[index], world.patients[index], day, start):
            raise SystemExit(f"W2h: booking {day} {start} through the views failed")

    durations = [timed_ns(views_path) for _ in range(BOOKING_WARMUP + bookings)][BOOKING_WARMUP:]
    figures["W2h_book_http_views"] = summary(durations, count_queries(views_path), bookings=bookings,
                                             staff_emails_sent=len(mail.outbox))
    return figures


def _race_worker(variant: str, world: World, patient, day, start, barrier, results) -> None:
    from django.db import connections

    try:
        client = logged_in_client(patient) if variant == "views_2_posts" else None
        barrier.wait(timeout=120)
        if variant == "views_2_posts":
            ok = book_through_views(world, client, patient, day, start)
        else:
            ok = check_then_book(world, patient, day, start)
        results.put(("ok" if ok else "refused", ""))
    except Exception as error:  # noqa: BLE001  # a worker reports every failure, e.g. "database is locked"
        results.put(("error", f"{type(error).__name__}: {error}"[:200]))
    finally:
        connections.close_all()


def race(world: World, variant: str, trials: int, processes: int) -> dict:
    """`processes` forked workers, each with its own connection and patient, book one slot at once
    after a barrier; then one more sequential attempt on the same slot."""
    from django.db import connections

    context = multiprocessing.get_context("fork")
    rounds = []
    for trial in range(trials):
        day, start = world.next_free_slot()
        barrier, results = context.Barrier(processes), context.SimpleQueue()
        contenders = world.patients[trial * processes % len(world.patients):][:processes]
        contenders += world.patients[:processes - len(contenders)]
        connections.close_all()  # each worker opens its own connection
        workers = [context.Process(target=_race_worker, args=(variant, world, patient, day, start, barrier, results))
                   for patient in contenders]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=600)
        outcomes = [results.get() for _ in workers]
        after_race = world.appointments_at(day, start)
        latecomer = world.patients[-1]
        if variant == "views_2_posts":
            sequential = book_through_views(world, logged_in_client(latecomer), latecomer, day, start)
        else:
            sequential = check_then_book(world, latecomer, day, start)
        rounds.append({"slot": f"{day.isoformat()}T{start.isoformat()}",
                       "succeeded": sum(1 for kind, _ in outcomes if kind == "ok"),
                       "refused": sum(1 for kind, _ in outcomes if kind == "refused"),
                       "errors": [message for kind, message in outcomes if kind == "error"],
                       "appointments_on_slot": after_race,
                       "sequential_attempt": "accepted" if sequential else "rejected",
                       "appointments_after_sequential": world.appointments_at(day, start)})
    return {"processes": processes, "trials": trials, "rounds": rounds,
            "max_succeeded": max(item["succeeded"] for item in rounds),
            "double_booked_trials": sum(1 for item in rounds if item["appointments_on_slot"] > 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--postgres-url", help="a database on the server to use (libpq URL); SQLite without it")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--appointments", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=200, help="measured calls of each W1/W3 operation")
    parser.add_argument("--bookings", type=int, default=500, help="measured bookings of W2 and of W2h")
    parser.add_argument("--race-trials", type=int, default=5)
    parser.add_argument("--race-processes", type=int, default=8)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.postgres_url:
        _create_postgres_database(args.postgres_url)
    configure(args.workdir, args.postgres_url)
    migrate(args.workdir)
    mute_package_loggers()
    from django.db import connection

    world = World(args)
    empty_day = world.after_day_14[0]
    offered = slots_of(world, empty_day)
    if len(offered) != SLOTS_PER_DAY:
        raise SystemExit(f"an empty day offers {len(offered)} slots, expected {SLOTS_PER_DAY}")
    workloads = read_workloads(world, args.runs)
    workloads |= booking_workloads(world, args.bookings)
    double_booking = {variant: race(world, variant, args.race_trials, args.race_processes)
                      for variant in ("views_2_posts", "check_then_book")}
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if connection.vendor == "sqlite" else "SHOW server_version")
        server = cursor.fetchone()[0]
    result = {
        "peer": "django-appointment",
        "database": connection.vendor, "server": server,
        "versions": {name: metadata.version(name) for name in ("django-appointment", "Django")}
        | {"python": platform.python_version()},
        "seeded": {"seed": args.seed, "patients": len(world.patients), "appointments": world.history,
                   "upcoming_taken": world.upcoming_taken, "unavailabilities": world.unavailabilities,
                   "empty_day_slots": len(offered)},
        "workloads": workloads,
        "double_booking": double_booking,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.output.write_text(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
