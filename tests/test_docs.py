"""The documentation stays true to the code."""
from pathlib import Path

import pytest

from core.config import default_keys

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("key", sorted(default_keys()))
def test_every_setting_is_documented(key):
    assert f"`{key}`" in (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


def test_readme_shows_the_two_commands_and_the_demo_accounts():
    from core.demo import ACCOUNTS, DEMO_DOMAIN, DEMO_PASSWORD

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
    assert DEMO_PASSWORD in readme
    for _role, local_part, _name in ACCOUNTS:
        assert f"{local_part}@{DEMO_DOMAIN}" in readme


def test_readme_links_lead_to_existing_files():
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(((?!https?:)[^)#]+)\)", readme):
        assert (ROOT / target).exists(), target
