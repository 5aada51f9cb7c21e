#!/usr/bin/env python3
"""Test data for the API contract run (scripts/contract.sh), and the Schemathesis config
that points operations at it.

Schemathesis makes up path parameters, so without this nearly every operation under
/domains/{name} would only ever answer 404. This creates, through the API, a domain with a
record, a webhook, a domain key, a member and an invitation, a second user and a user key,
and writes schemathesis.toml giving each operation the ids of those. The deletions get
objects of their own, so deleting one early leaves the others for the operations after it.

Usage: contract_fixtures.py BASE_URL API_KEY OUT.toml
"""

import json
import sys
import urllib.error
import urllib.request

base, key, out = sys.argv[1:4]


def call(method, path, body=None):
    req = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        sys.exit(f"fixture {method} {path} failed: {e.code} {e.read().decode()}")


ZONE = "contract.example"
DOOMED = "doomed.example"
zone = call("POST", "/api/v1/domains", {"name": ZONE})
call("POST", "/api/v1/domains", {"name": DOOMED})
change = zone["change"]["id"]


def record(name):
    return call(
        "POST",
        f"/api/v1/domains/{ZONE}/records",
        {"name": name, "type": "A", "ttl": 300, "content": "192.0.2.1"},
    )["record"]["id"]


def webhook():
    return call(
        "POST",
        f"/api/v1/domains/{ZONE}/webhooks",
        {"url": "http://127.0.0.1:9/apex"},
    )["id"]


def domain_key(description):
    return call(
        "POST", f"/api/v1/domains/{ZONE}/keys", {"description": description, "role": "read"}
    )["id"]


def user(email):
    return call(
        "POST", "/api/v1/admin/users", {"email": email, "password": "a long enough password"}
    )["id"]


def member(email):
    uid = user(email)
    call("POST", f"/api/v1/domains/{ZONE}/members", {"email": email, "role": "read"})
    return uid


def invitation(email):
    added = call("POST", f"/api/v1/domains/{ZONE}/members", {"email": email, "role": "read"})
    return added["invitation"]["id"]


def user_key(description):
    return call("POST", "/api/v1/keys", {"description": description})["id"]


# The account the sign-in example of the document (POST /auth/login) signs in to, so that
# example gets as far as a session and its answer is checked too.
user("erin@example.com")

ids = {
    # operation id → the `id` (or `user`) path parameter it gets
    "records_update": record("www"),
    "records_delete": record("gone"),
    "webhooks_show": (hook := webhook()),
    "webhooks_deliveries": hook,
    "webhooks_delete": webhook(),
    "keys_domain_show": (dkey := domain_key("contract")),
    "keys_domain_update": dkey,
    "keys_domain_revoke": domain_key("contract, revoked"),
    "keys_show": (ukey := user_key("contract")),
    "keys_update": ukey,
    "keys_revoke": user_key("contract, revoked"),
    "admin_user": (other := user("other@contract.example")),
    "admin_update_user": other,
    "admin_reset_2fa": other,
    "domains_change": change,
    "members_revoke_invitation": invitation("invited@contract.example"),
}
members = {
    "members_update": member("member@contract.example"),
    "members_remove": member("leaving@contract.example"),
}

lines = [
    "# Written by scripts/contract_fixtures.py: the test data each operation is pointed at.",
    "[parameters]",
    f'"path.name" = "{ZONE}"',
    "",
    "[[operations]]",
    # Deleting the domain would leave every other operation nothing to work on.
    'include-operation-id = "domains_delete"',
    f'parameters = {{ "path.name" = "{DOOMED}" }}',
]
for op, value in ids.items():
    lines += ["", "[[operations]]", f'include-operation-id = "{op}"',
              f'parameters = {{ "path.id" = {value} }}']
for op, value in members.items():
    lines += ["", "[[operations]]", f'include-operation-id = "{op}"',
              f'parameters = {{ "path.user" = "{value}" }}']
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
