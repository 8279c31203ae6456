"""Tests of the count models."""
