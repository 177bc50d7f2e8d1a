"""Built-in plugins shipped with Palier (each switched on by name in ``PLUGINS``)."""
