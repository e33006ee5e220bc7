"""The pytest plugin of fake-leaf, registered through the ``pytest11`` entry point."""
