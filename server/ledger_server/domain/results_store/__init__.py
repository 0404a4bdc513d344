"""ResultsStoreService: cloud cost estimates stored as jobs, compared and trended."""
