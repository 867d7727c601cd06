"""Operator tools: the `salvage-cds` command line (serve, check-config, client keys, demo,
feedback report) and the demo sandbox. Above the web layer: `serve` starts the app."""
