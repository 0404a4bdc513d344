"""SavingsService: money saved by stopping instances, from stop/start events."""
