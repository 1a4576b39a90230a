"""Take my data: "Download everything I own", one zip built by a worker (issue 14)."""
