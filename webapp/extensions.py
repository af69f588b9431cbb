"""Unbound Flask extensions, bound to the app in `create_app()`."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from webapp.api.error_schema import ApiErrorSchema
from webapp.db import Base


class CarnetApi(Api):
    """flask-smorest's Api without its error handler: `webapp.errors` renders
    every error of the app, JSON or HTML, in one format."""

    ERROR_SCHEMA = ApiErrorSchema

    def _register_error_handlers(self):
        pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
api = CarnetApi()
