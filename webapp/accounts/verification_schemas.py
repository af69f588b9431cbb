"""Marshmallow schemas of the back office's verification API (input and output kept apart)."""

import marshmallow as ma
from marshmallow import validate

from webapp.accounts.directory import Check
from webapp.accounts.models import Verification, VerificationMethod
from webapp.accounts.verification import NOTE_MAX, REASON_MAX
from webapp.api.pagination import PaginationQuerySchema, page_schema

CHECKS = [check.value for check in Check]


class ReviewListQuerySchema(PaginationQuerySchema):
    verification = ma.fields.String(
        load_default=Verification.PENDING.value, validate=validate.OneOf([v.value for v in Verification]),
        metadata={"description": "The state listed (`pending` by default), oldest sign-up first.",
                  "example": "pending"})


class DirectorySiteSchema(ma.Schema):
    profession = ma.fields.String(metadata={"example": "Médecin"})
    specialty = ma.fields.String(metadata={"example": "Qualifié en Médecine Générale"})
    organisation = ma.fields.String(metadata={"example": "CABINET DU DR MARTIN"})
    address = ma.fields.String(metadata={"example": "12 RUE DE LA ROQUETTE"})
    postcode = ma.fields.String(metadata={"example": "75011"})
    city = ma.fields.String(metadata={"example": "PARIS"})
    practice_mode_code = ma.fields.String(metadata={"description": "L libéral, S salarié, B bénévole.",
                                                    "example": "L"})


class DirectoryComparisonSchema(ma.Schema):
    found = ma.fields.Boolean(metadata={"description": "The RPPS number is in the latest imported directory.",
                                        "example": True})
    matches_identity = ma.fields.Boolean(metadata={
        "description": "RPPS number, last and first names match: `directory` verification is possible. A "
                       "consistency check, not a proof of identity (the directory is public).", "example": True})
    last_name = ma.fields.String(metadata={"enum": CHECKS, "example": "match"})
    first_name = ma.fields.String(metadata={"enum": CHECKS, "example": "match"})
    profession = ma.fields.String(metadata={"enum": CHECKS, "example": "match"})
    directory_last_name = ma.fields.String(allow_none=True, metadata={"example": "MARTIN"})
    directory_first_name = ma.fields.String(allow_none=True, metadata={"example": "Claire"})
    professions = ma.fields.List(ma.fields.String(), metadata={"example": ["Médecin"]})
    sites = ma.fields.List(ma.fields.Nested(DirectorySiteSchema))


class PractitionerReviewSchema(ma.Schema):
    """A practitioner as the back office reviews them, with what the directory says."""

    id = ma.fields.Integer(metadata={"example": 7})
    user_id = ma.fields.Integer(metadata={"example": 12})
    email = ma.fields.String(metadata={"example": "claire.martin@example.com"})
    first_name = ma.fields.String(metadata={"example": "Claire"})
    last_name = ma.fields.String(metadata={"example": "Martin"})
    rpps = ma.fields.String(metadata={"example": "99700000005"})
    specialty = ma.fields.String(metadata={"example": "general_practitioner"})
    address = ma.fields.String(metadata={"example": "12 rue de la Roquette"})
    postcode = ma.fields.String(metadata={"example": "75011"})
    city = ma.fields.String(metadata={"example": "Paris"})
    created_at = ma.fields.AwareDateTime(metadata={"example": "2026-12-01T08:30:00+00:00"})
    verification = ma.fields.String(metadata={"enum": [v.value for v in Verification], "example": "pending"})
    verified_at = ma.fields.AwareDateTime(allow_none=True, metadata={"example": None})
    verification_method = ma.fields.String(allow_none=True, metadata={
        "enum": [m.value for m in VerificationMethod], "example": None})
    verification_note = ma.fields.String(allow_none=True, metadata={"example": None})
    rejected_at = ma.fields.AwareDateTime(allow_none=True, metadata={"example": None})
    rejection_reason = ma.fields.String(allow_none=True, metadata={"example": None})
    directory = ma.fields.Nested(DirectoryComparisonSchema)

    @ma.pre_dump
    def _flatten(self, review, **kwargs):
        """A `PractitionerReview`: the profile's fields beside its directory comparison."""
        profile = review.profile
        return {name: getattr(profile, name) for name in self.fields if hasattr(profile, name)} | {
            "email": profile.user.email, "directory": review.directory}


PractitionerReviewPageSchema = page_schema(PractitionerReviewSchema, "PractitionerReviewPage")


class VerifyInputSchema(ma.Schema):
    method = ma.fields.String(required=True, validate=validate.OneOf(
        [VerificationMethod.DOCUMENT.value, VerificationMethod.DIRECTORY.value]), metadata={
        "description": "`document`: the back office checked documents; `directory`: the RPPS number and names "
                       "match an active entry of the imported RPPS directory (else 409 `directory_mismatch`).",
        "example": "directory"})
    note = ma.fields.String(load_default="", validate=validate.Length(max=NOTE_MAX), metadata={
        "description": "For the back office only (what was checked).", "example": "Carte CPS vue en visio."})


class RejectInputSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=REASON_MAX), metadata={
        "description": "Sent to the practitioner by mail and shown on their account.",
        "example": "Ce numéro RPPS correspond à une autre personne dans l'annuaire."})
