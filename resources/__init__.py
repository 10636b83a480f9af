"""Icons and stylesheets shipped inside the wheel as ``sre_console_resources``."""
