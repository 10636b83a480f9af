"""Pure domain model: frozen dataclasses and pure functions. stdlib and numpy only."""
