"""Marshmallow schemas of the accounts API (input and output kept apart)."""

import marshmallow as ma
from marshmallow import validate

from webapp.accounts.identity_rules import BirthDate, PersonName
from webapp.accounts.models import ApiToken, Role, Sex, Verification
from webapp.accounts.passwords import MIN_PASSWORD_LENGTH
from webapp.accounts.relatives import list_relatives
from webapp.accounts.specialties import SPECIALTIES
from webapp.api.auth import current_api_token
from webapp.api.pagination import Sorting, list_query_schema, page_schema


def _name(example: str) -> ma.fields.String:
    return PersonName(required=True, metadata={"example": example})


def _sex(example: str | None) -> ma.fields.String:
    return ma.fields.String(load_default=None, allow_none=True, validate=validate.OneOf([sex.value for sex in Sex]),
                            metadata={"description": "Optional administrative sex (`female`, `male`, `other`, "
                                                     "`unknown`), as given: nothing is derived from names.",
                                      "example": example})


class _SignupSchema(ma.Schema):
    email = ma.fields.Email(required=True, validate=validate.Length(max=254),
                            metadata={"example": "lucie.moreau@example.com"})
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(max=200),
                                metadata={"description": "At least 10 characters, not only letters or digits.",
                                          "minLength": MIN_PASSWORD_LENGTH, "example": "une-longue-phrase-2026"})
    first_name = _name("Lucie")
    last_name = _name("Moreau")
    locale = ma.fields.String(validate=validate.OneOf(["fr", "en"]), metadata={"example": "fr"})


class PatientSignupSchema(_SignupSchema):
    role = ma.fields.String(required=True, validate=validate.OneOf([Role.PATIENT]), metadata={"example": "patient"})
    birth_date = BirthDate(required=True, metadata={"example": "1990-05-17"})
    sex = _sex("female")


class PractitionerSignupSchema(_SignupSchema):
    role = ma.fields.String(required=True, validate=validate.OneOf([Role.PRACTITIONER]),
                            metadata={"example": "practitioner"})
    rpps = ma.fields.String(required=True, validate=validate.Length(max=20),
                            metadata={"description": "11 digits, Luhn check.", "pattern": r"^[0-9]{11}$",
                                      "example": "99700218896"})
    specialty = ma.fields.String(required=True, validate=validate.OneOf(list(SPECIALTIES)),
                                 metadata={"description": "A code of GET /specialties.",
                                           "example": "general_practitioner"})
    address = ma.fields.String(required=True, validate=validate.Length(min=1, max=200),
                               metadata={"example": "12 rue de la Roquette"})
    postcode = ma.fields.String(required=True, validate=validate.Regexp(r"^[0-9]{5}$"), metadata={"example": "75011"})
    city = ma.fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={"example": "Paris"})


SIGNUP_SCHEMAS = {Role.PATIENT.value: PatientSignupSchema, Role.PRACTITIONER.value: PractitionerSignupSchema}


class AccountCreateSchema(ma.Schema):
    """Loads a sign-up with the schema of its `role`; documented as their `oneOf`."""

    def load(self, data, *args, **kwargs):
        role = data.get("role") if isinstance(data, dict) else None
        schema = SIGNUP_SCHEMAS.get(role) if isinstance(role, str) else None
        if schema is None:
            raise ma.ValidationError({"role": [f"Must be one of: {', '.join(SIGNUP_SCHEMAS)}."]})
        return schema().load(data, *args, **kwargs)


ACCOUNT_CREATE_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {
        "oneOf": [PatientSignupSchema, PractitionerSignupSchema],
        "discriminator": {"propertyName": "role", "mapping": {
            "patient": "#/components/schemas/PatientSignup",
            "practitioner": "#/components/schemas/PractitionerSignup",
        }},
    }}},
}


class PatientProfileSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True, metadata={"example": 42})
    first_name = _name("Jules")
    last_name = _name("Lambert")
    birth_date = BirthDate(required=True, metadata={"example": "2016-09-03"})
    sex = _sex("male")


class PractitionerProfileSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 7})
    first_name = ma.fields.String(metadata={"example": "Claire"})
    last_name = ma.fields.String(metadata={"example": "Martin"})
    rpps = ma.fields.String(metadata={"example": "99700218896"})
    specialty = ma.fields.String(metadata={"example": "general_practitioner"})
    address = ma.fields.String(metadata={"example": "12 rue de la Roquette"})
    postcode = ma.fields.String(metadata={"example": "75011"})
    city = ma.fields.String(metadata={"example": "Paris"})
    clinic_id = ma.fields.Integer(allow_none=True, metadata={"example": None})
    verification = ma.fields.String(metadata={
        "description": "`pending` until the back office (or a Pro Santé Connect login) verifies the practitioner; "
                       "`verified`, or `rejected`.", "enum": [v.value for v in Verification], "example": "verified"})


class AccountSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 12})
    email = ma.fields.String(metadata={"example": "marie.lambert@demo.example.com"})
    role = ma.fields.String(metadata={"example": "patient"})
    locale = ma.fields.String(allow_none=True, metadata={"example": "fr"})
    patient_id = ma.fields.Integer(attribute="patient_profile.id", metadata={"example": 40})
    practitioner_id = ma.fields.Integer(attribute="practitioner_profile.id", metadata={"example": 7})
    verification = ma.fields.String(attribute="practitioner_profile.verification", metadata={
        "description": "Practitioners only: `pending` after sign-up (agenda set-up only), `verified` or `rejected`.",
        "enum": [v.value for v in Verification], "example": "pending"})
    patient = ma.fields.Nested(PatientProfileSchema, attribute="patient_profile", allow_none=True)
    practitioner = ma.fields.Nested(PractitionerProfileSchema, attribute="practitioner_profile", allow_none=True)
    relatives = ma.fields.Method("_relatives", metadata={
        "type": "array", "items": {"$ref": "#/components/schemas/PatientProfile"},
        "example": [{"id": 41, "first_name": "Jules", "last_name": "Lambert", "birth_date": "2016-09-03",
                     "sex": "male"}],
    })

    def _relatives(self, user):
        return PatientProfileSchema(many=True).dump(list_relatives(user))


class AccountCreatedSchema(AccountSchema):
    totp_secret = ma.fields.String(metadata={
        "description": "Practitioners only, shown once: add it to a TOTP app.",
        "example": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    })

    @ma.post_dump
    def _secret_only_for_totp_roles(self, data, **kwargs):
        if data.get("totp_secret") is None:
            data.pop("totp_secret", None)
        return data


class TokenRequestSchema(ma.Schema):
    email = ma.fields.String(required=True, validate=validate.Length(max=254),
                             metadata={"example": "marie.lambert@demo.example.com"})
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(max=200),
                                metadata={"example": "carnet-demo-2026"})
    totp = ma.fields.String(validate=validate.Length(max=10),
                            metadata={"description": "Required for practitioners and staff.", "example": "492039"})


class TokenSchema(ma.Schema):
    token = ma.fields.String(required=True, metadata={"example": "pX3t2k0n6hN1cY8m0aVZr9gq4uQW2e7sJd5fBxLkT0E"})
    expires_at = ma.fields.AwareDateTime(required=True, metadata={"example": "2026-12-23T09:30:00+00:00"})


class ApiTokenSchema(ma.Schema):
    """A token as its owner sees it in the list: never the secret value."""

    id = ma.fields.Integer(required=True, metadata={"example": 3})
    created_at = ma.fields.AwareDateTime(required=True, metadata={"example": "2026-11-23T08:00:00+00:00"})
    expires_at = ma.fields.AwareDateTime(required=True, metadata={"example": "2026-12-23T08:00:00+00:00"})
    last_used_at = ma.fields.AwareDateTime(required=True, allow_none=True,
                                           metadata={"example": "2026-11-23T09:12:44+00:00"})
    current = ma.fields.Method("_is_current", metadata={
        "type": "boolean", "description": "Whether this is the token of the request.", "example": True,
    })

    def _is_current(self, token: ApiToken) -> bool:
        return token.id == current_api_token().id


TOKEN_SORTING = Sorting(
    {"created_at": ApiToken.created_at, "expires_at": ApiToken.expires_at, "last_used_at": ApiToken.last_used_at},
    default="-created_at", tiebreaker=ApiToken.id,
)
TokenListQuerySchema = list_query_schema("TokenListQuerySchema", sorting=TOKEN_SORTING)
TokenPageSchema = page_schema(ApiTokenSchema, "TokenPage")


class RelativesSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PatientProfileSchema), required=True)


class SpecialtySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "pediatrician"})
    label = ma.fields.String(required=True, metadata={"example": "Pédiatre"})


class SpecialtiesSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SpecialtySchema), required=True)


class ProxySchema(ma.Schema):
    account_id = ma.fields.Integer(required=True, metadata={"example": 12})
    name = ma.fields.String(required=True, metadata={"example": "Marie Lambert"})
    since = ma.fields.AwareDateTime(required=True, metadata={"example": "2026-11-23T08:00:00+00:00"})


class ProxiesSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ProxySchema), required=True)
