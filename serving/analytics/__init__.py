"""The console's analytics: duckdb over the event log and the world, the tables behind /ui and /analytics."""
