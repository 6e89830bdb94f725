"""/oncall for the ChatOps control room: an example of a command plugin (entry-point group `chatops.commands`)."""
