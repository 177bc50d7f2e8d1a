"""Distribution of the Palier noticeboard plugin (panneau d'affichage de la résidence)."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent

setup(
    name="palier-noticeboard",
    version="1.0.0",
    description="Residence noticeboard for Palier: staff post notices, tenants read those of "
                "their residence",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="AGPL-3.0-or-later",
    python_requires=">=3.11,<3.14",
    packages=find_packages(include=["palier_noticeboard", "palier_noticeboard.*"]),
    # Templates, stylesheet, catalogues and migrations are not Python packages: ship them
    # explicitly, or the installed plugin would miss its pages, its French and its tables.
    package_data={
        "palier_noticeboard": [
            "templates/**/*.html",
            "static/*.css",
            "translations/*/LC_MESSAGES/messages.po",
            "translations/*/LC_MESSAGES/messages.mo",
            "migrations/versions/*.py",
        ],
    },
    install_requires=[
        "palier>=0.1,<1",
        # SelectChoice and invalid_value_message appeared in WTForms 3.3.
        "WTForms>=3.3,<4",
    ],
    entry_points={
        "palier.plugins": ["noticeboard = palier_noticeboard.plugin:NoticeboardPlugin"],
    },
)
