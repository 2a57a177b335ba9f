"""`make up` is idempotent and `make down` stops only what `make up` started."""

from topology import Topology


def test_a_second_start_is_a_no_op_that_keeps_every_process(healthy: Topology) -> None:
    before = {c.name: c.pid for c in healthy.components()}
    again = healthy.start()
    assert not [line for line in again if line.startswith(("started", "created"))], again
    assert {c.name: c.pid for c in healthy.components()} == before


def test_the_shared_postgres_is_reported_but_not_owned(healthy: Topology) -> None:
    components = {c.name: c for c in healthy.components()}
    assert not components["postgres"].owned, "the machine's Postgres must never be stopped by make down"
    assert components["redis"].owned, "tests run their own Redis, never the shared one"
    assert all(
        components[name].pid for name in ("haproxy", "supervisor", "replica r1", "replica r2", "moto_server")
    )
