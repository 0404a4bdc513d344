"""ResultsStoreService on the wire: its servicer and its protobuf conversions."""
