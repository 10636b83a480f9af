"""Widgets, views, dialogs and themes. Talks to viewmodels only, never to backends."""
