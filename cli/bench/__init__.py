"""``manna bench``: throughput, latency and memory of the real stack, beside the naive design."""
