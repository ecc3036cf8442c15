"""The default pack: en.toml and es.toml (data only)."""
