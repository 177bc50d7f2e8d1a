"""The claims blueprint: for now it only lends the plugin's templates (the acknowledgement
PDF) to the app; the tenant and back-office pages join it later."""
from flask import Blueprint

bp = Blueprint("claims", __name__, template_folder="templates")
