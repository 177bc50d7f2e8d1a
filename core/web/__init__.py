"""The core's web pages: login, tenant portal shell, back-office shell, errors."""
