"""Tests of the SmartWats integration."""
