"""Marshmallow schemas of the accounts API (input and output kept apart)."""

import marshmallow as ma
from marshmallow import validate

from webapp.accounts.models import Role
from webapp.accounts.specialties import SPECIALTIES

_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))


class AccountCreateSchema(ma.Schema):
    role = ma.fields.String(required=True, validate=validate.OneOf([Role.PATIENT, Role.PRACTITIONER]))
    email = ma.fields.Email(required=True, validate=validate.Length(max=254))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(max=200))
    first_name = _name
    last_name = _name
    locale = ma.fields.String(validate=validate.OneOf(["fr", "en"]))
    birth_date = ma.fields.Date(metadata={"description": "Patients only."})
    rpps = ma.fields.String(metadata={"description": "Practitioners only: 11 digits, Luhn check."},
                            validate=validate.Length(max=20))
    specialty = ma.fields.String(validate=validate.OneOf(list(SPECIALTIES)),
                                 metadata={"description": "Practitioners only: a code of GET /specialties."})
    address = ma.fields.String(validate=validate.Length(min=1, max=200))
    postcode = ma.fields.String(validate=validate.Regexp(r"^\d{5}$"))
    city = ma.fields.String(validate=validate.Length(min=1, max=100))

    @ma.validates_schema
    def _fields_of_role(self, data, **kwargs):
        needed = ["birth_date"] if data.get("role") == Role.PATIENT else ["rpps", "specialty", "address", "postcode", "city"]
        missing = {name: ["Missing data for required field."] for name in needed if name not in data}
        if missing:
            raise ma.ValidationError(missing)


class PatientProfileSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    first_name = _name
    last_name = _name
    birth_date = ma.fields.Date(required=True)


class PractitionerProfileSchema(ma.Schema):
    id = ma.fields.Integer()
    first_name = ma.fields.String()
    last_name = ma.fields.String()
    rpps = ma.fields.String()
    specialty = ma.fields.String()
    address = ma.fields.String()
    postcode = ma.fields.String()
    city = ma.fields.String()
    clinic_id = ma.fields.Integer(allow_none=True)


class AccountSchema(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    role = ma.fields.String()
    locale = ma.fields.String(allow_none=True)
    patient_id = ma.fields.Integer(attribute="patient_profile.id")
    practitioner_id = ma.fields.Integer(attribute="practitioner_profile.id")
    patient = ma.fields.Nested(PatientProfileSchema, attribute="patient_profile", allow_none=True)
    practitioner = ma.fields.Nested(PractitionerProfileSchema, attribute="practitioner_profile", allow_none=True)
    relatives = ma.fields.Method("_relatives")

    def _relatives(self, user):
        from webapp.accounts.services import list_relatives

        return PatientProfileSchema(many=True).dump(list_relatives(user))


class AccountCreatedSchema(AccountSchema):
    totp_secret = ma.fields.String(
        metadata={"description": "Practitioners only, shown once: add it to a TOTP app."})

    @ma.post_dump
    def _secret_only_for_totp_roles(self, data, **kwargs):
        if data.get("totp_secret") is None:
            data.pop("totp_secret", None)
        return data


class TokenRequestSchema(ma.Schema):
    email = ma.fields.String(required=True, validate=validate.Length(max=254))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(max=200))
    totp = ma.fields.String(validate=validate.Length(max=10),
                            metadata={"description": "Required for practitioners and staff."})


class TokenSchema(ma.Schema):
    token = ma.fields.String(required=True)
    expires_at = ma.fields.AwareDateTime(required=True)


class RelativesSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PatientProfileSchema), required=True)


class SpecialtySchema(ma.Schema):
    code = ma.fields.String(required=True)
    label = ma.fields.String(required=True)


class SpecialtiesSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SpecialtySchema), required=True)
