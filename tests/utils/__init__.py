"""Shared test builders: free ports, a private Postgres database, redis-server and moto instances,
session tokens, and real `relay serve` processes. Used by tests/app and the topology tests.

Typical use (see tests/conftest.py for the fixtures that wire them together):

    db = PostgresDatabase.create()              # unique database + relay_owner/relay_app roles
    redis = RedisServer.start()                 # own redis-server on a free port
    keys = SigningKeys.create(tmp_path)         # RSA pair, PEM files, mint(sub, **claims)
    env = relay_environment(db, redis.url, keys, s3.url, s3.bucket)  # RELAY_* for local mode
    run_migrations_cli(env)                     # `relay migrate` as a subprocess
    with RelayProcess.start(env) as server:     # `relay serve` on a free port, /healthz polled
        httpx.get(server.url + "/healthz")
"""
