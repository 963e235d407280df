#!/usr/bin/env python3
"""Parses Prometheus text exposition from standard input with prometheus_client's parser (the reference
implementation) and prints {"metric_name{label=value,...}": value, ...} as JSON, with each family's type under
"#types". A line the parser cannot read makes it exit 1 with the parser's error, so a test that runs it fails."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

try:
    samples, types = {}, {}
    for family in text_string_to_metric_families(sys.stdin.read()):
        types[family.name] = family.type
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    samples["#types"] = types
    print(json.dumps(samples, sort_keys=True))
except Exception as error:  # noqa: BLE001 - any parse failure is the answer
    print(f"not Prometheus text: {error}", file=sys.stderr)
    sys.exit(1)
