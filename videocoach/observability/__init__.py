"""What an operator watches: log lines with request ids (logs) and Prometheus metrics
(metrics). A shared room: it imports no feature; features call its small recording API."""
