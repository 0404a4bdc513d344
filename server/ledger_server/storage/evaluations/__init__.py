"""EvaluationService tables, repository and blob store."""
