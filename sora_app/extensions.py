"""Bare extension instances, bound to the app in create_app (no import cycles)."""

from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base shared by every model."""


db = SQLAlchemy(model_class=Base)
cors = CORS()
jwt = JWTManager()
sock = Sock()
limiter = Limiter(key_func=get_remote_address)
migrate = Migrate()
