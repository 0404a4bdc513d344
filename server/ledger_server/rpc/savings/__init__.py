"""SavingsService servicer and its proto translation."""
