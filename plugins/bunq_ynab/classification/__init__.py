"""Category prediction per YNAB plan: datasets, features, MLflow experiments and promotion.

Modules, lightest first:

- ``records``: the payment feature record (standard library only).
- ``dataset``: labelled examples of a plan from the app database.
- ``predict``: sync-time prediction through MLServer, stored in the ``prediction`` table.
- ``experiments``: ``train_plan``, the selection, grid search, evaluation and registration.
- ``registry``: the registered model per plan and the promotion rule.
- ``monitoring``: live accuracy of stored predictions.
- ``features``, ``models``, ``pyfunc``, ``evaluation``, ``tracking``: scikit-learn and MLflow code.

Nothing is imported here, so importing this package costs nothing at DAG parse time. The
modules that need scikit-learn or MLflow import them at top level. The exceptions are
``experiments``, ``registry`` and ``monitoring``, which import them inside their functions, so a
DAG file may import those at parse time.
"""
