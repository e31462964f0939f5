"""Use-cases shared by the command line and the console; each takes a session and a clock."""
