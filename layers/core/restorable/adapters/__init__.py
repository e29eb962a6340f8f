"""Adapters: boto3 calls in, domain objects and domain errors out."""
