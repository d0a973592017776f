"""The online judge: a web service and graders over the judging core, which never imports it."""
