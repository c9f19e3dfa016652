"""The sync protocol v1 (push/pull), its reconciliation engine and the batch-upload client."""
