"""Running a submission in isolation: the Protocol, the wire format, local bubblewrap jails,
Docker containers, the runner that executes inside either, and the factory choosing one."""
