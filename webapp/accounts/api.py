"""Accounts API: sign-up, bearer tokens, the caller's account, relatives."""

from flask.views import MethodView

from webapp.accounts import api_tokens, authentication, email_confirmation, proxies, registration, relatives, schemas
from webapp.accounts.models import Role
from webapp.accounts.specialties import SPECIALTIES
from webapp.api.auth import bearer_required, current_api_token, current_api_user, documented_errors, public_endpoint
from webapp.api.blueprint import Blueprint
from webapp.api.idempotency import idempotent
from webapp.extensions import limiter
from webapp.paging import paginate
from webapp.transaction import transaction

blp = Blueprint("accounts_api", __name__, url_prefix="/api/v1", description="Accounts and authentication")


@blp.route("/accounts", methods=["POST"])
@limiter.limit("20 per hour")
@public_endpoint
@blp.arguments(schemas.AccountCreateSchema)
@blp.doc(requestBody=schemas.ACCOUNT_CREATE_BODY)
@blp.response(201, schemas.AccountCreatedSchema)
@documented_errors(409, 429)
def create_account(data):
    """Sign up as a patient or a practitioner.

    A practitioner's answer holds `totp_secret` once: every later token
    request needs a code from it."""
    register = registration.register_patient if data.pop("role") == Role.PATIENT else registration.register_practitioner
    with transaction():
        user = register(**data)
        email_confirmation.send_email_confirmation(user)
    return user


@blp.route("/auth/token", endpoint="token")
class TokenView(MethodView):
    @limiter.limit("10 per minute")
    @public_endpoint
    @blp.arguments(schemas.TokenRequestSchema)
    @blp.response(200, schemas.TokenSchema)
    @documented_errors(401, 429)
    def post(self, data):
        """Exchange credentials (and a TOTP code where required) for a bearer token."""
        with transaction():
            user = authentication.check_password_login(data["email"], data["password"])
            authentication.check_second_factor(user, data.get("totp"))
            authentication.record_successful_login(user)
            raw, token = api_tokens.issue_api_token(user)
        return {"token": raw, "expires_at": token.expires_at}

    @bearer_required()
    @blp.response(204)
    def delete(self):
        """Revoke the token used for this request."""
        with transaction():
            api_tokens.revoke_api_token(current_api_token())



@blp.route("/me")
@bearer_required()
@blp.response(200, schemas.AccountSchema)
def me():
    """The caller's account with its patient or practitioner profile."""
    return current_api_user()


@blp.route("/me/tokens")
@bearer_required()
@blp.arguments(schemas.TokenListQuerySchema, location="query")
@blp.response(200, schemas.TokenPageSchema)
def my_tokens(query):
    """The caller's tokens that still work (never their secret value), to spot
    and revoke the one of a lost phone."""
    return paginate(api_tokens.active_api_tokens(current_api_user()), sorting=schemas.TOKEN_SORTING, **query)


@blp.route("/me/tokens/<int:token_id>", methods=["DELETE"])
@bearer_required()
@blp.response(204)
def revoke_my_token(token_id):
    """Revoke one of the caller's tokens; another account's token is not found."""
    with transaction():
        api_tokens.revoke_api_token_of(current_api_user(), token_id)


@blp.route("/me/relatives", endpoint="relatives")
class RelativesView(MethodView):
    @bearer_required(Role.PATIENT)
    @blp.response(200, schemas.RelativesSchema)
    def get(self):
        """Patient profiles this account acts for, besides its own."""
        return {"items": relatives.list_relatives(current_api_user())}

    @bearer_required(Role.PATIENT)
    @idempotent
    @blp.arguments(schemas.PatientProfileSchema)
    @blp.response(201, schemas.PatientProfileSchema)
    def post(self, data):
        """Add a relative (a child, a dependant) to book and keep a notebook for."""
        with transaction():
            return relatives.add_relative(current_api_user(), **data)



@blp.route("/patients/<int:patient_id>/proxies")
@bearer_required()
@blp.response(200, schemas.ProxiesSchema)
@documented_errors(404)
def patient_proxies(patient_id):
    """The accounts acting for a patient profile (its own account or one of them only)."""
    return {"items": proxies.list_proxies(current_api_user(), patient_id)}


@blp.route("/patients/<int:patient_id>/proxies/<int:account_id>", methods=["DELETE"])
@bearer_required()
@blp.response(204)
@documented_errors(404)
def remove_patient_proxy(patient_id, account_id):
    """Stop an account acting for the profile: the profile's own account
    removes any proxy, a proxy removes itself; the other side is told.
    Anyone else: 404."""
    with transaction():
        proxies.remove_proxy(current_api_user(), patient_id, account_id)


@blp.route("/specialties")
@public_endpoint
@blp.response(200, schemas.SpecialtiesSchema)
def specialties():
    """The specialties practitioners can hold."""
    return {"items": [{"code": code, "label": str(label)} for code, label in SPECIALTIES.items()]}
