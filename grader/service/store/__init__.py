"""The store: the database and everything kept in it (users, submissions, leases, graders'
heartbeats, sign-in throttles). It imports neither grading nor the web."""
