"""The orchestrator: triage (which specialists an alert needs) and synthesis (the determination)."""
