"""SavingsService storage."""
