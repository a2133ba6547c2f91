"""MLServer glue: model repository files, the V2 HTTP client, and a local MLServer process."""
