"""ResultsStoreService storage: its tables and its repository."""
