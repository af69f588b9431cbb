"""Mounts every feature's API blueprint on the one OpenAPI document."""

from flask import Flask
from flask_smorest import Api, Blueprint

from webapp.api import models  # noqa: F401  (the idempotency table belongs to the schema)
from webapp.api.body import check_request_body
from webapp.api.docs import bp as docs_bp
from webapp.api.error_schema import ApiErrorSchema
from webapp.api.openapi import OperationDocsPlugin
from webapp.extensions import csrf


class CarnetApi(Api):
    """flask-smorest's Api without its error handler: `webapp.errors` renders
    every error of the app, JSON or HTML, in one format."""

    ERROR_SCHEMA = ApiErrorSchema

    def _register_error_handlers(self):
        pass


def register_api(app: Flask, blueprints: list[Blueprint]) -> None:
    # One per app: its OpenAPI document lists exactly the blueprints this app serves
    # (an app with the shared-record connector on has more than one without it).
    api = CarnetApi()
    api.init_app(app, spec_kwargs={
        "extra_plugins": [OperationDocsPlugin()],
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    })
    for blueprint in blueprints:
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    app.before_request(check_request_body)
    app.register_blueprint(docs_bp)
