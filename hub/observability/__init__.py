"""Running the hub: request ids, JSON log lines and Prometheus metrics.

Platform code with no knowledge of payments or collections: the figures that need
other apps' rows (payments by state, open exceptions) are collected by the
``operations`` app, the top layer, which reads every app.
"""
