"""Shared library of the bunq-to-YNAB DAGs: clients, storage, sync and classification.

The DAG files stay thin and call into this package. Dependencies point one way:
DAGs -> ``bunq_ynab.sync`` / ``bunq_ynab.classification`` -> ``bunq_ynab.storage`` and the
API clients in ``bunq_ynab.bunq`` and ``bunq_ynab.ynab``.
"""
