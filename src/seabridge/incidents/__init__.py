"""Incidents: correlation, the lifecycle table, the escalation ladder, the counterparts."""
