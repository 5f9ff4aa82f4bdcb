"""Test support: an engine-side harness for Pulumi dynamic providers, and a toy provider."""
