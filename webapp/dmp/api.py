"""Shared-record API: the patient's INS and consent; the outbox for administrators.

Registered only while the connector is on: otherwise these paths answer 404.
"""


from webapp.accounts.models import Role
from webapp.api.answers import answer
from webapp.api.auth import bearer_required, current_api_user, documented_errors
from webapp.api.blueprint import Blueprint
from webapp.dmp import schemas, services
from webapp.transaction import transaction

blp = Blueprint("dmp_api", __name__, url_prefix="/api/v1",
                description="Push to a shared health record (IHE MHD / PDSm compatible)")

# Health data: no cache, shared or in the browser, may keep a copy of an answer.
PRIVATE_HEADERS = {"Cache-Control": "private, no-store"}


def _json(schema, value):
    """The answer, dumped inside the handler's transaction; shared-record data is never cached."""
    return answer(schema, value, headers=PRIVATE_HEADERS)


@blp.route("/patients/<int:patient_id>/identity", methods=["PUT"])
@bearer_required(Role.PATIENT, Role.PRACTITIONER, Role.STAFF)
@blp.arguments(schemas.IdentityInputSchema)
@blp.response(200, schemas.IdentitySchema)
@documented_errors(403, 404, 422)
def put_identity(data, patient_id):
    """Record the patient's INS: provisional from the patient side, validated by
    a treating practitioner or clinic secretary after checking an ID document;
    its sex, birth year and month must agree with the profile (422
    `ins_traits_mismatch`). Recovered and qualified come only from INSi."""
    with transaction():
        identity = services.record_identity(current_api_user(), patient_id, **data)
        return _json(schemas.IdentitySchema(), identity)


@blp.route("/patients/<int:patient_id>/identity/insi-verification", methods=["POST"])
@bearer_required(Role.PATIENT, Role.PRACTITIONER, Role.STAFF)
@blp.response(200, schemas.IdentitySchema)
@documented_errors(403, 404, 409, 503)
def verify_identity(patient_id):
    """Ask the INSi teleservice for the INS of the patient's traits: when it
    returns the recorded INS with the profile's traits, a validated INS becomes
    qualified and any other recovered. Otherwise 409 (`insi_not_confirmed`:
    none found, `insi_several_identities`, `insi_ins_differs`,
    `insi_traits_differ` naming the traits, `insi_traits_incomplete`: no sex
    to send), 503 `insi_unavailable` on a timeout, a SOAP fault or no
    configuration. A treating practitioner or clinic secretary."""
    # Two units of work on purpose: no transaction stays open while the teleservice answers.
    with transaction():
        nir, traits = services.insi_request(current_api_user(), patient_id)
    insi_answer = services.ask_insi(traits)
    with transaction():
        identity = services.apply_insi_answer(current_api_user(), patient_id, nir, traits, insi_answer)
        return _json(schemas.IdentitySchema(), identity)


@blp.route("/patients/<int:patient_id>/dmp-consent", methods=["PUT"])
@bearer_required(Role.PATIENT)
@blp.arguments(schemas.ConsentInputSchema)
@blp.response(200, schemas.ConsentSchema)
@documented_errors(404, 422)
def put_consent(data, patient_id):
    """Give or withdraw consent to the push (patient side); withdrawing cancels documents not sent yet."""
    with transaction():
        record = services.record_consent(current_api_user(), patient_id, consent=data["consent"])
        return _json(schemas.ConsentSchema(), record)


@blp.route("/dmp/pushes")
@bearer_required(Role.ADMIN)
@blp.arguments(schemas.PushesQuerySchema, location="query")
@blp.response(200, schemas.PushPageSchema)
@documented_errors(422)
def list_pushes(query):
    """The outbox, newest first (`status` filters)."""
    with transaction():
        return _json(schemas.PushPageSchema(), services.list_pushes(current_api_user(), **query))


@blp.route("/dmp/pushes/<int:push_id>/retry", methods=["POST"])
@bearer_required(Role.ADMIN)
@blp.response(200, schemas.PushSchema)
@documented_errors(404, 409)
def retry_push(push_id):
    """Send a failed or cancelled push again from its first attempt."""
    with transaction():
        return _json(schemas.PushSchema(), services.retry_push(current_api_user(), push_id))


@blp.route("/dmp/pushes/<int:push_id>/cancel", methods=["POST"])
@bearer_required(Role.ADMIN)
@blp.response(200, schemas.PushSchema)
@documented_errors(404, 409)
def cancel_push(push_id):
    """Stop a waiting or failed push."""
    with transaction():
        return _json(schemas.PushSchema(), services.cancel_push(current_api_user(), push_id))
