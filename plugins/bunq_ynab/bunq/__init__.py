"""bunq access through the official bunq-sdk: context handling, throttling and listing."""
