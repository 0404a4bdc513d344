"""EvaluationService over the wire."""
