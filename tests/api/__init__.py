"""Tests of the SmartWats API client."""
