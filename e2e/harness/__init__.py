"""Test and run harness: start the mock provider and a real Envoy with the Portcullis filters."""
