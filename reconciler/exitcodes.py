"""The one table of exit codes (DESIGN section 5), shared by the CLI and the command bodies."""

OK = 0  # success; for `plan --detailed-exitcode`: no changes
ERROR = 1  # error: message on stderr, no traceback
CHANGES = 2  # changes present (`plan --detailed-exitcode`)
REFUSED = 3  # refused by policy
INTERRUPTED = 130
