"""EvaluationService: versioned evaluation records, their outputs, events and statistics."""
