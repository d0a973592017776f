"""What a problem is and what a grade says: specs, inputs, problems on disk, the comparison of
one output, reports, and a submission's bytes. Imports only the base modules."""
