"""Residence noticeboard (panneau d'affichage de la résidence), a Palier plugin.

Staff post notices for a residence ("Coupure d'eau mardi de 9 h à 12 h"); the tenants of that
residence read the current ones on their portal. Palier finds the plugin through the
``palier.plugins`` entry point of this distribution (see ``setup.py``) and registers it when
``PALIER_PLUGINS`` names ``noticeboard``.
"""
