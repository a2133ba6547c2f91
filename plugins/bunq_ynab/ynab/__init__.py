"""YNAB access through the official ``ynab`` SDK (4.4.x, which names budgets "plans")."""
