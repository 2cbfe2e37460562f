"""Tests of the SmartWats gateway emulator."""
