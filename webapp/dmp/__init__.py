"""Optional push to a shared health record (IHE MHD / PDSm compatible): INS, consent, outbox.

Off unless `CARNET_DMP_ENDPOINT` or `CARNET_DMP_FOLDER` is set: then, and
only then, `init_dmp` adds its pages, API, signal receiver and status lookup
to the app, and `webapp.jobs` enables its job. The notebook never imports it.
"""

from flask import Blueprint, Flask

from webapp.dmp.settings import check_connector_settings, connector_enabled

bp = Blueprint("dmp", __name__, template_folder="templates")

# Where the notebook looks up an entry's push status (see webapp/notebook/schemas.py).
ENTRY_STATUS_EXTENSION = "notebook.shared_record_status"
# Where the notebook's FHIR export looks up a qualified INS (see webapp/notebook/export_fhir.py).
QUALIFIED_INS_EXTENSION = "notebook.qualified_ins"


def _enqueue_on_entry_added(sender, entry, actor, **extra):
    from webapp.dmp.services import enqueue_entry

    enqueue_entry(entry)


def _identity_status(patient_id: int) -> str | None:
    from webapp.dmp.models import PatientIdentity
    from webapp.extensions import db

    identity = db.session.get(PatientIdentity, patient_id)
    return identity.status.value if identity is not None else None


def _identity_trait_mismatches(patient_id: int, birth_date, sex: str | None) -> list[str]:
    from webapp.dmp.ins import trait_mismatches
    from webapp.dmp.models import PatientIdentity
    from webapp.extensions import db

    identity = db.session.get(PatientIdentity, patient_id)
    return trait_mismatches(identity.ins, birth_date=birth_date, sex=sex) if identity is not None else []


def init_dmp(app: Flask) -> list:
    """Wire the connector into `app` when it is configured; returns its API blueprints.
    Identities recorded while it was on keep the profile's traits locked even once it is off."""
    from webapp.accounts.profiles import IDENTITY_STATUS_EXTENSION, IDENTITY_TRAITS_EXTENSION

    app.extensions[IDENTITY_STATUS_EXTENSION] = _identity_status
    app.extensions[IDENTITY_TRAITS_EXTENSION] = _identity_trait_mismatches
    if not connector_enabled(app.config):
        return []
    check_connector_settings(app.config)
    from webapp.dmp import api, services, views  # noqa: F401  (views registers the page routes)
    from webapp.notebook.signals import entry_added

    app.register_blueprint(bp)
    entry_added.connect(_enqueue_on_entry_added, sender=app, weak=False)
    app.extensions[ENTRY_STATUS_EXTENSION] = services.push_status
    app.extensions[QUALIFIED_INS_EXTENSION] = services.qualified_ins
    app.jinja_env.globals["shared_record_status_text"] = views.push_status_text
    return [api.blp]
