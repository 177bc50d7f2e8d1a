"""The baseline of the benchmarks: the smallest Flask application, one route returning "hello".

Palier's figures are reported as ratios to this app served by the same gunicorn configuration
in the same run, so that the speed of the machine (and its noise) cancels out: what remains is
the cost Palier adds on top of Flask and gunicorn themselves.
"""
from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    """Return a constant body: no template, no session, no database."""
    return "hello"
