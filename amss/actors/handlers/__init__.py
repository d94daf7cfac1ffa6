"""Command handlers of the domain: each runs an application service inside the command's transaction."""
