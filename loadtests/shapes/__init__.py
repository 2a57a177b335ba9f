"""Load shapes by name (`SHAPE=ramp|step|spike|soak`): each a table of stages scaled to the run's
peak (`USERS`, locust -u) and total time (`DURATION`, locust -t)."""
