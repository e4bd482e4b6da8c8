"""What the portal tells its operators: the log format (one JSON line a request) and Prometheus metrics."""
