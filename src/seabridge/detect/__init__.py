"""Detection: the rulebook, one module per rule kind, and the engine (live and batch)."""
