#!/usr/bin/env python3
"""Validates the KEDA resources among rendered Kubernetes manifests against KEDA's CRD schema.

The schema comes from PyPI's cloudcoil.models.keda (pydantic models generated from KEDA's CRDs, Apache-2.0), turned
into JSON Schema and made strict: an object with known properties accepts no other key, as the API server's
structural schema pruning would silently drop a misspelled field. The metadata of a metrics-api trigger (a free
string map in the CRD) is checked against the scaler's documented parameters.

Usage: validate-keda.py RENDERED.yaml [--metrics EXPOSITION.txt]
  RENDERED.yaml: the output of `kubectl kustomize` (or any file of manifests); exits 1 on the first invalid resource.
  --metrics: a scrape of taskgate's /metrics; each metrics-api trigger in the Prometheus format must find its
  valueLocation (a metric name with optional label matchers, as KEDA reads it) there, with a number.
"""

import re
import sys

import cloudcoil.models.keda.v1alpha1 as keda
import jsonschema
import yaml

# The metrics-api scaler's trigger parameters (KEDA's documentation of the scaler).
METRICS_API_METADATA = {
    "url", "format", "valueLocation", "targetValue", "activationTargetValue", "unsafeSsl", "authMode", "method",
    "keyParamName", "timeout", "aggregateFromKubeServiceEndpoints", "aggregationType",
}
METRICS_API_FORMATS = {"json", "xml", "yaml", "prometheus"}


def strict(schema):
    """Every object schema with properties refuses unknown keys (unless it says otherwise)."""
    if isinstance(schema, dict):
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        for value in schema.values():
            strict(value)
    elif isinstance(schema, list):
        for value in schema:
            strict(value)
    return schema


def find_sample(exposition, selector):
    """The value KEDA's metrics-api scaler would read for `selector` (name{label="value",...}) from `exposition`."""
    from prometheus_client.parser import text_string_to_metric_families

    match = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?', selector.strip())
    if not match:
        sys.exit(f"valueLocation {selector!r} is not a metric selector")
    name, matchers = match.group(1), dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"', match.group(2) or ""))
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in matchers.items()):
                return sample.value
    return None


def main(path, metrics=None):
    documents = [d for d in yaml.safe_load_all(open(path)) if d]
    checked = 0
    for document in documents:
        kind = document.get("kind")
        if document.get("apiVersion") != "keda.sh/v1alpha1":
            continue
        model = getattr(keda, kind, None)
        if model is None:
            sys.exit(f"{kind}: not a KEDA kind")
        schema = strict(model.model_json_schema(by_alias=True))
        name = f"{kind}/{document['metadata']['name']}"
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.path))
        if errors:
            for error in errors:
                print(f"{name}: {'/'.join(map(str, error.path))}: {error.message}")
            sys.exit(1)
        model.model_validate(document)
        for trigger in document.get("spec", {}).get("triggers", []):
            if trigger.get("type") != "metrics-api":
                continue
            metadata = trigger.get("metadata", {})
            unknown = set(metadata) - METRICS_API_METADATA
            if unknown:
                sys.exit(f"{name}: unknown metrics-api parameters {sorted(unknown)}")
            if metadata.get("format", "json") not in METRICS_API_FORMATS:
                sys.exit(f"{name}: metrics-api format must be one of {sorted(METRICS_API_FORMATS)}")
            for required in ("url", "valueLocation"):
                if required not in metadata:
                    sys.exit(f"{name}: metrics-api needs {required}")
            if metrics is not None and metadata.get("format") == "prometheus":
                value = find_sample(metrics, metadata["valueLocation"])
                if value is None:
                    sys.exit(f"{name}: {metadata['valueLocation']} is not in the scraped /metrics")
                print(f"found in /metrics: {metadata['valueLocation']} = {value:g}")
        print(f"valid: {name} (KEDA's CRD schema, strict)")
        checked += 1
    if checked == 0:
        sys.exit("no KEDA resource found")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    exposition = None
    if len(arguments) == 3 and arguments[1] == "--metrics":
        exposition = open(arguments[2]).read()
        arguments = arguments[:1]
    if len(arguments) != 1:
        sys.exit("usage: validate-keda.py RENDERED.yaml [--metrics EXPOSITION.txt]")
    main(arguments[0], exposition)
