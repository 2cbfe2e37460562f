"""End-to-end tests: a real Home Assistant process, the gateway emulator and a headless browser."""
