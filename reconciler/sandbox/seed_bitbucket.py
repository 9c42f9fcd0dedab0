"""Seed normalisation for the ``bitbucket`` section."""

from __future__ import annotations

from typing import Any

from .seedutil import (
    DEFAULT_API_TOKEN_SCOPES,
    DEFAULT_BB_USER,
    SeedError,
    as_bool,
    as_dict,
    as_int,
    as_list,
    as_perm,
    as_str,
    iso_now,
    opt_str,
    stable_uuid,
)


def _bb_user(raw: Any, where: str) -> dict[str, Any]:
    u = as_dict(raw, where)
    nickname = as_str(u.get("nickname"), f"{where}.nickname")
    ident = as_str(u.get("uuid"), f"{where}.uuid") or stable_uuid(
        "user:" + (nickname or as_str(u.get("email"), where))
    )
    scopes = u.get("scopes")
    return {
        "uuid": ident,
        "account_id": as_str(u.get("account_id"), f"{where}.account_id")
        or "557058:" + ident.strip("{}"),
        "display_name": as_str(u.get("display_name"), f"{where}.display_name") or nickname,
        "nickname": nickname,
        "email": opt_str(u.get("email"), f"{where}.email"),
        "api_token": opt_str(u.get("api_token"), f"{where}.api_token"),
        "scopes": [
            as_str(s, f"{where}.scopes")
            for s in (DEFAULT_API_TOKEN_SCOPES if scopes is None else as_list(scopes, where))
        ],
        "created_on": as_str(u.get("created_on"), where, "2024-01-01T00:00:00+00:00"),
    }


def resolve_user(ref: Any, users: list[dict[str, Any]], where: str) -> str:
    key = as_str(ref, where)
    for u in users:
        if key in (u["uuid"], u["account_id"], u["nickname"]):
            return str(u["uuid"])
    raise SeedError(f"{where}: unknown Bitbucket user {key!r}")


def _hook(raw: Any, where: str) -> dict[str, Any]:
    h = as_dict(raw, where)
    desc = as_str(h.get("description"), f"{where}.description")
    url = as_str(h.get("url"), f"{where}.url")
    if not url:
        raise SeedError(f"{where}.url: required")
    return {
        "uuid": as_str(h.get("uuid"), f"{where}.uuid") or stable_uuid(f"hook:{where}:{desc}:{url}"),
        "description": desc,
        "url": url,
        "events": [as_str(e, f"{where}.events") for e in as_list(h.get("events"), where)],
        "active": as_bool(h.get("active"), f"{where}.active", True),
        "secret": opt_str(h.get("secret"), f"{where}.secret") or None,
        "skip_cert_verification": as_bool(h.get("skip_cert_verification"), where),
        "created_at": as_str(h.get("created_at"), where) or "2024-01-01T00:00:00.000000+00:00",
    }


def _commit(raw: Any, where: str) -> dict[str, Any]:
    c = {"hash": raw} if isinstance(raw, str) else as_dict(raw, where)
    h = as_str(c.get("hash"), f"{where}.hash").lower()
    if len(h) != 40 or any(ch not in "0123456789abcdef" for ch in h):
        raise SeedError(f"{where}.hash: a commit needs its full 40-character hex hash")
    return {
        "hash": h,
        "message": as_str(c.get("message"), where, "Sandbox commit\n"),
        "date": as_str(c.get("date"), where, "2024-01-01T00:00:00+00:00"),
        "author": opt_str(c.get("author"), where),
        "branch": opt_str(c.get("branch"), where),
    }


def _pullrequest(raw: Any, where: str) -> dict[str, Any]:
    p = as_dict(raw, where)
    pid = as_int(p.get("id"), f"{where}.id")
    if pid <= 0:
        raise SeedError(f"{where}.id: a positive integer is required")
    comments = []
    for i, c in enumerate(as_list(p.get("comments"), f"{where}.comments")):
        cw = f"{where}.comments[{i}]"
        cd = as_dict(c, cw)
        comments.append(
            {
                "id": as_int(cd.get("id"), f"{cw}.id"),
                "raw": as_str(cd.get("raw"), f"{cw}.raw"),
                "user": as_str(cd.get("user"), f"{cw}.user"),
                "created_on": as_str(cd.get("created_on"), cw) or iso_now(),
                "updated_on": as_str(cd.get("updated_on"), cw) or iso_now(),
                "parent": cd.get("parent"),
                "inline": cd.get("inline"),
            }
        )
    state = as_str(p.get("state"), f"{where}.state", "OPEN")
    if state not in ("OPEN", "MERGED", "DECLINED", "SUPERSEDED"):
        raise SeedError(f"{where}.state: OPEN, MERGED, DECLINED or SUPERSEDED")
    return {
        "id": pid,
        "title": as_str(p.get("title"), where),
        "description": as_str(p.get("description"), where),
        "state": state,
        "author": opt_str(p.get("author"), where),
        "source_branch": as_str(p.get("source_branch"), where),
        "source_hash": as_str(p.get("source_hash"), where).lower(),
        "destination_branch": as_str(p.get("destination_branch"), where, "main"),
        "destination_hash": as_str(p.get("destination_hash"), where).lower(),
        "merge_hash": opt_str(p.get("merge_hash"), where),
        "closed_by": opt_str(p.get("closed_by"), where),
        "close_source_branch": as_bool(p.get("close_source_branch"), where),
        "created_on": as_str(p.get("created_on"), where) or iso_now(),
        "updated_on": as_str(p.get("updated_on"), where) or iso_now(),
        "comments": comments,
    }


def _status(raw: Any, where: str) -> dict[str, Any]:
    s = as_dict(raw, where)
    return {
        "commit": as_str(s.get("commit"), where).lower(),
        "key": as_str(s.get("key"), where),
        "state": as_str(s.get("state"), where, "INPROGRESS"),
        "name": opt_str(s.get("name"), where),
        "description": opt_str(s.get("description"), where),
        "url": opt_str(s.get("url"), where),
        "refname": opt_str(s.get("refname"), where),
        "created_on": as_str(s.get("created_on"), where) or iso_now(),
        "updated_on": as_str(s.get("updated_on"), where) or iso_now(),
    }


def _repository(
    ws: str, slug: str, raw: Any, users: list[dict[str, Any]], groups: dict[str, Any]
) -> dict[str, Any]:
    where = f"bitbucket.workspaces.{ws}.repositories.{slug}"
    r = as_dict(raw, where)
    perms = as_dict(r.get("permissions"), f"{where}.permissions")
    gperms: dict[str, str] = {}
    for g, p in as_dict(perms.get("groups"), f"{where}.permissions.groups").items():
        if g not in groups:
            raise SeedError(f"{where}.permissions.groups: unknown group {g!r}")
        gperms[g] = as_perm(p, f"{where}.permissions.groups.{g}")
    uperms: dict[str, str] = {}
    for u, p in as_dict(perms.get("users"), f"{where}.permissions.users").items():
        uperms[resolve_user(u, users, f"{where}.permissions.users")] = as_perm(
            p, f"{where}.permissions.users.{u}"
        )
    commits = [_commit(c, f"{where}.commits") for c in as_list(r.get("commits"), where)]
    branches = {
        as_str(k, f"{where}.branches"): as_str(v, f"{where}.branches.{k}").lower()
        for k, v in as_dict(r.get("branches"), f"{where}.branches").items()
    }
    known = {c["hash"] for c in commits}
    for head in branches.values():
        if head not in known:
            commits.append(_commit(head, f"{where}.branches"))
            known.add(head)
    project = as_dict(r.get("project"), f"{where}.project")
    return {
        "uuid": as_str(r.get("uuid"), f"{where}.uuid") or stable_uuid(f"repo:{ws}/{slug}"),
        "name": as_str(r.get("name"), f"{where}.name") or slug,
        "description": as_str(r.get("description"), where),
        "is_private": as_bool(r.get("is_private"), f"{where}.is_private", True),
        "mainbranch": as_str(r.get("mainbranch"), f"{where}.mainbranch", "main"),
        "language": as_str(r.get("language"), where),
        "project": {
            "key": as_str(project.get("key"), where, "PROJ"),
            "name": as_str(project.get("name"), where, "Default project"),
            "uuid": as_str(project.get("uuid"), where) or stable_uuid(f"project:{ws}"),
        },
        "created_on": as_str(r.get("created_on"), where, "2024-01-01T00:00:00+00:00"),
        "admins": [
            resolve_user(u, users, f"{where}.admins") for u in as_list(r.get("admins"), where)
        ],
        "permissions": {"groups": gperms, "users": uperms},
        "hooks": [
            _hook(h, f"{where}.hooks[{i}]") for i, h in enumerate(as_list(r.get("hooks"), where))
        ],
        "commits": commits,
        "branches": branches,
        "pullrequests": [
            _pullrequest(p, f"{where}.pullrequests[{i}]")
            for i, p in enumerate(as_list(r.get("pullrequests"), where))
        ],
        "statuses": [_status(s, f"{where}.statuses") for s in as_list(r.get("statuses"), where)],
    }


def _workspace(slug: str, raw: Any, users: list[dict[str, Any]]) -> dict[str, Any]:
    where = f"bitbucket.workspaces.{slug}"
    w = as_dict(raw, where)
    groups = {}
    for g, gv in as_dict(w.get("groups"), f"{where}.groups").items():
        gd = as_dict(gv, f"{where}.groups.{g}")
        groups[str(g)] = {"name": as_str(gd.get("name"), f"{where}.groups.{g}.name") or str(g)}
    members: dict[str, list[str]] = {}
    for g, lst in as_dict(w.get("members"), f"{where}.members").items():
        if g not in groups:
            raise SeedError(f"{where}.members: unknown group {g!r}")
        members[str(g)] = [
            resolve_user(u, users, f"{where}.members.{g}") for u in as_list(lst, where)
        ]
    repos = {
        str(s): _repository(slug, str(s), rv, users, groups)
        for s, rv in as_dict(w.get("repositories"), f"{where}.repositories").items()
    }
    return {
        "uuid": as_str(w.get("uuid"), f"{where}.uuid") or stable_uuid(f"workspace:{slug}"),
        "name": as_str(w.get("name"), f"{where}.name") or slug,
        "is_private": as_bool(w.get("is_private"), where, True),
        "owners": [
            resolve_user(u, users, f"{where}.owners") for u in as_list(w.get("owners"), where)
        ],
        "groups": groups,
        "members": members,
        "hooks": [
            _hook(h, f"{where}.hooks[{i}]") for i, h in enumerate(as_list(w.get("hooks"), where))
        ],
        "repositories": repos,
    }


def normalise_bitbucket(raw: Any) -> dict[str, Any]:
    b = as_dict(raw, "bitbucket")
    users = [
        _bb_user(u, f"bitbucket.users[{i}]") for i, u in enumerate(as_list(b.get("users"), "u"))
    ]
    if not users:
        users = [_bb_user(dict(DEFAULT_BB_USER), "default")]
    wss = as_dict(b.get("workspaces"), "bitbucket.workspaces") or {
        "acme": {"owners": [users[0]["uuid"]]}
    }
    consumers = []
    for i, c in enumerate(as_list(b.get("oauth_consumers"), "bitbucket.oauth_consumers")):
        where = f"bitbucket.oauth_consumers[{i}]"
        cd = as_dict(c, where)
        owner = cd.get("owner")
        consumers.append(
            {
                "key": as_str(cd.get("key"), f"{where}.key"),
                "secret": as_str(cd.get("secret"), f"{where}.secret"),
                "name": as_str(cd.get("name"), f"{where}.name"),
                "description": as_str(cd.get("description"), where),
                "private": as_bool(cd.get("private"), f"{where}.private"),
                "callback_url": opt_str(cd.get("callback_url"), where),
                "url": opt_str(cd.get("url"), where),
                "scopes": [as_str(s, where) for s in as_list(cd.get("scopes"), where)],
                "owner": resolve_user(owner, users, f"{where}.owner") if owner else None,
            }
        )
    tokens = []
    for i, t in enumerate(as_list(b.get("access_tokens"), "bitbucket.access_tokens")):
        where = f"bitbucket.access_tokens[{i}]"
        td = as_dict(t, where)
        kind = as_str(td.get("kind"), where, "oauth")
        if kind not in ("oauth", "access_token"):
            raise SeedError(f"{where}.kind: oauth or access_token")
        user = td.get("user")
        tokens.append(
            {
                "token": as_str(td.get("token"), f"{where}.token"),
                "kind": kind,
                "user": resolve_user(user, users, f"{where}.user") if user else None,
                "scopes": [as_str(s, where) for s in as_list(td.get("scopes"), where)],
                "consumer": opt_str(td.get("consumer"), where),
                "refresh_token": opt_str(td.get("refresh_token"), where),
                "expires_at": td.get("expires_at"),
            }
        )
    return {
        "users": users,
        "workspaces": {str(k): _workspace(str(k), v, users) for k, v in wss.items()},
        "oauth_consumers": consumers,
        "access_tokens": tokens,
    }
