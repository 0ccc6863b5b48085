"""Usage and progress reporting: apps report minutes and progress, teachers set goals,
districts see adoption and control retention and deletion.

Modules: ``models`` (records), ``interfaces`` (storage), ``ingest`` (accepting events),
``goals`` (goals and progress), ``retention`` (adoption, retention, deletion). Nothing is
re-exported here: the storage layer imports ``models`` and ``interfaces``, and the services
import the storage layer.
"""
