"""The district portal: sign-in pages, launchpad, instant login, badge printing.

Framework-free: ``service`` holds the rules, ``web/portal.py`` is the thin HTTP layer and
``templates/`` the pages it renders.
"""
