"""Distribution of Palier: the core platform and its built-in plugins."""
from setuptools import find_packages, setup

setup(
    name="palier",
    version="0.1.0",
    description="Relation platform between a social-housing landlord and its tenants",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="AGPL-3.0-or-later",
    python_requires=">=3.11,<3.14",
    packages=find_packages(include=["core", "core.*", "plugins", "plugins.*"]),
    py_modules=["wsgi"],
    include_package_data=True,
    package_data={
        "core": [
            "templates/**/*",
            "translations/*/LC_MESSAGES/*",
            "migrations/*",
            "migrations/versions/*.py",
        ],
        "plugins": ["*/templates/**/*", "*/static/**/*", "*/translations/*/LC_MESSAGES/*",
                    "*/migrations/versions/*.py", "*/messages/**/*", "*/catalogue/*.toml"],
    },
    install_requires=[
        "Flask>=3.1,<4",
        "Flask-SQLAlchemy>=3.1,<4",
        "SQLAlchemy>=2.0.30,<2.2",
        "Flask-Migrate>=4.1,<5",
        "alembic>=1.16,<2",
        "Flask-Login>=0.6.3,<0.7",
        "Flask-WTF>=1.2,<2",
        "WTForms>=3.3,<4",
        "Flask-Babel>=4,<5",
        "Flask-Limiter>=3.8,<5",
        "Flask-Talisman>=1.1,<2",
        "Flask-SocketIO>=5.5,<6",
        "simple-websocket>=1.1,<2",
        "pluggy>=1.5,<2",
        "argon2-cffi>=23.1,<26",
        "email-validator>=2.1,<3",
        "gunicorn>=23,<28",
        "Flask-Mailman>=1.1,<2",
        "Pillow>=11.1,<14",
        "pillow-heif>=0.22,<2",
        # PDFs. Each WeasyPrint major version may lay documents out differently, so the bound
        # is one major version: same data, same PDF bytes (docs/pdf.md).
        "weasyprint>=70,<71",
        # The daily print batch: stored letters concatenated behind their cover sheet.
        "pypdf>=6,<8",
        "icalendar>=6.1,<8",
        # Time zones of quiet hours and appointments, where the system has no tz database.
        "tzdata>=2024.1,<2028",
        # French public holidays (and Alsace-Moselle's two more) for claims' business-hour
        # deadlines. The package's calendars are data refreshed by new releases: keep up.
        "holidays>=0.60,<1",
    ],
    extras_require={
        "postgresql": ["psycopg[binary]>=3.2,<3.4"],
        "eventlet": ["eventlet>=0.40,<0.42"],
        "test": [
            "pytest>=8,<10",
            "playwright>=1.50,<2",
            "axe-playwright-python>=0.1.8,<0.2",
            "aiosmtpd>=1.4,<2",
            "python-socketio[client]>=5.11,<6",
            "requests>=2.31,<3",
            "psycopg[binary]>=3.2,<3.4",
            "eventlet>=0.40,<0.42",
            "pypdf>=6,<8",
            # Property-based tests: malformed submissions of the claims plugin.
            "hypothesis>=6.100,<7",
        ],
    },
    entry_points={
        "console_scripts": ["palier = core.cli:main"],
        # Shipped with Palier but not a built-in plugin (core.plugins.BUILTIN_PLUGINS): installed,
        # listed, and enabled only when PLUGINS names it.
        "palier.plugins": ["video_diag = plugins.video_diag:VideoDiagPlugin"],
    },
)
