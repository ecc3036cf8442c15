"""Rule packs shipped with triage_rules (data only)."""
