"""Mounts every feature's API blueprint on the one OpenAPI document."""

from flask import Flask
from flask_smorest import Blueprint

from webapp.extensions import api, csrf


def register_api(app: Flask, blueprints: list[Blueprint]) -> None:
    api.init_app(app, spec_kwargs={"components": {"securitySchemes": {
        "bearerAuth": {"type": "http", "scheme": "bearer"},
    }}})
    for blueprint in blueprints:
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
