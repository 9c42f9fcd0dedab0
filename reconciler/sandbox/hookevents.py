"""The 29 webhook event keys valid for REST webhooks (spec enum of ``hook_event.event``)."""

from __future__ import annotations

# (event key, category, label, description)
HOOK_EVENTS: tuple[tuple[str, str, str, str], ...] = (
    ("repo:push", "Repository", "Push", "Whenever a repository push occurs"),
    ("repo:fork", "Repository", "Fork", "Whenever a repository fork occurs"),
    ("repo:updated", "Repository", "Updated", "Whenever a repository is updated"),
    (
        "repo:transfer",
        "Repository",
        "Transfer accepted",
        "Whenever a repository transfer is accepted",
    ),
    ("repo:created", "Repository", "Created", "Whenever a repository is created"),
    ("repo:deleted", "Repository", "Deleted", "Whenever a repository is deleted"),
    ("repo:imported", "Repository", "Import", "Whenever a repository import occurs"),
    (
        "repo:commit_comment_created",
        "Repository",
        "Commit comment created",
        "Whenever a commit comment is created",
    ),
    (
        "repo:commit_status_created",
        "Repository",
        "Build status created",
        "Whenever a build status is created",
    ),
    (
        "repo:commit_status_updated",
        "Repository",
        "Build status updated",
        "Whenever a build status is updated",
    ),
    ("pullrequest:created", "Pull Request", "Created", "Whenever a pull request is created"),
    ("pullrequest:updated", "Pull Request", "Updated", "Whenever a pull request is updated"),
    ("pullrequest:push", "Pull Request", "Push", "Whenever commits are pushed to a pull request"),
    (
        "pullrequest:approved",
        "Pull Request",
        "Approved",
        "When someone has approved a pull request",
    ),
    (
        "pullrequest:unapproved",
        "Pull Request",
        "Approval removed",
        "When someone has removed an approval from a pull request",
    ),
    (
        "pullrequest:changes_request_created",
        "Pull Request",
        "Changes request created",
        "When someone has requested changes on a pull request",
    ),
    (
        "pullrequest:changes_request_removed",
        "Pull Request",
        "Changes request removed",
        "When someone has removed a changes request from a pull request",
    ),
    ("pullrequest:fulfilled", "Pull Request", "Merged", "When someone has merged a pull request"),
    (
        "pullrequest:rejected",
        "Pull Request",
        "Declined",
        "When someone has declined a pull request",
    ),
    (
        "pullrequest:comment_created",
        "Pull Request",
        "Comment created",
        "Whenever a comment is created on a pull request",
    ),
    (
        "pullrequest:comment_updated",
        "Pull Request",
        "Comment updated",
        "Whenever a comment is updated on a pull request",
    ),
    (
        "pullrequest:comment_deleted",
        "Pull Request",
        "Comment deleted",
        "Whenever a comment is deleted on a pull request",
    ),
    (
        "pullrequest:comment_resolved",
        "Pull Request",
        "Comment resolved",
        "Whenever a comment is resolved on a pull request",
    ),
    (
        "pullrequest:comment_reopened",
        "Pull Request",
        "Comment reopened",
        "Whenever a comment is reopened on a pull request",
    ),
    ("issue:created", "Issue", "Created", "Whenever an issue is created"),
    ("issue:updated", "Issue", "Updated", "Whenever an issue is updated"),
    ("issue:comment_created", "Issue", "Comment created", "Whenever an issue comment is created"),
    ("project:updated", "Project", "Updated", "Whenever a project is updated"),
    ("pipeline:span_created", "Pipeline", "Span created", "Whenever a pipeline span is created"),
)

VALID_EVENTS = frozenset(e[0] for e in HOOK_EVENTS)

# What Drone (go-scm v1.28.0) subscribes its Bitbucket Cloud hook to.
DRONE_HOOK_EVENTS = (
    "repo:push",
    "pullrequest:updated",
    "pullrequest:unapproved",
    "pullrequest:approved",
    "pullrequest:rejected",
    "pullrequest:fulfilled",
    "pullrequest:created",
)


def event_objects() -> list[dict[str, str]]:
    return [
        {"event": key, "category": cat, "label": label, "description": desc}
        for key, cat, label, desc in HOOK_EVENTS
    ]
