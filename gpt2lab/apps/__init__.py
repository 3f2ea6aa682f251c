"""Front ends: the essay generator, the command line and the web app."""
