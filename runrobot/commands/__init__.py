"""One module per ``runrobot`` subcommand."""
