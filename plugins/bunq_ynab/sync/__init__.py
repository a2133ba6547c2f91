"""Moving bunq payments into YNAB: extraction, account linking, conversion and the queue."""
