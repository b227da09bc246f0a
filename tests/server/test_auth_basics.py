"""Keys: hashed at rest, required, scoped to one project, revocable."""

from __future__ import annotations

import httpx

from memkit.server import KeyStore


def test_keys_are_stored_hashed(tmp_path) -> None:
    keys = KeyStore(f"sqlite:///{tmp_path / 'k.db'}")
    listed, secret = keys.create_key("proj_a", "ci")
    raw = (tmp_path / "k.db").read_bytes()
    assert secret.encode() not in raw
    assert listed.prefix == secret[:10] and not listed.revoked
    assert keys.check(secret).status == "valid"
    assert keys.check(secret + "x").status == "unknown"
    keys.revoke_key(listed.id)
    assert keys.check(secret).status == "revoked"
    assert [k.id for k in keys.list_keys("proj_a")] == [listed.id]
    keys.close()


def test_ping_needs_a_valid_key(live_server) -> None:
    url = f"{live_server.url}/v1/ping/"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Token nope"}).status_code == 401
    key = live_server.new_key("proj_a")
    reply = httpx.get(url, headers={"Authorization": f"Token {key}"})
    assert reply.status_code == 200
    assert reply.json()["project_id"] == "proj_a"
    foreign = httpx.get(
        url, params={"project_id": "proj_b"}, headers={"Authorization": f"Token {key}"}
    )
    assert foreign.status_code == 403
