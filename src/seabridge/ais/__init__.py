"""AIS ingest: raw lines and CSV archives -> normalized Arrow records."""
